package owtapi

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTransports talks to real 127.0.0.1 servers over HTTP and HTTPS.
func TestTransports(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := checkAuthHeader(t, r.Header.Get("Authorization"), testKey)
		if r.URL.Path != "/v1/rooms/r1/participants" || items["serviceid"] != testServiceID {
			http.Error(w, `{"error":{"code":1001,"message":"Resource not found"}}`, 404)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`[{"id":"p1","role":"presenter","user":"u"}]`))
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewUnstartedServer(handler)
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	secure.StartTLS()
	defer secure.Close()

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		url      string
		caFile   string
		insecure bool
		wantErr  string // "" means success
	}{
		{"plain http", plain.URL, "", false, ""},
		{"https with CA file", secure.URL, caFile, false, ""},
		{"https insecure", secure.URL, "", true, ""},
		{"https unknown CA", secure.URL, "", false, "CA file"},
		{"https to plain server", strings.Replace(plain.URL, "http:", "https:", 1), "", false, "use http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{
				URL: tt.url, ServiceID: testServiceID, ServiceKey: testKey,
				CAFile: tt.caFile, InsecureSkipVerify: tt.insecure, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ps, err := c.ListParticipants(context.Background(), "r1")
			if tt.wantErr == "" {
				if err != nil || len(ps) != 1 || ps[0].ID != "p1" {
					t.Fatalf("participants = %+v, err = %v", ps, err)
				}
				return
			}
			if !IsTransport(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v: want a transport error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
