package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	testID  = "5f1c0000000000000000abcd"
	testKey = "secret-key"
)

func noEnv(string) string { return "" }

func TestParseFlags(t *testing.T) {
	env := func(k string) string {
		if k == serviceKeyEnv {
			return "from-env"
		}
		return ""
	}
	cases := []struct {
		name    string
		args    []string
		getenv  func(string) string
		wantErr string
		wantKey string
	}{
		{"minimal", []string{"--service-id", testID, "--service-key", "k"}, noEnv, "", "k"},
		{"key from env", []string{"--service-id", testID}, env, "", "from-env"},
		{"no key", []string{"--service-id", testID}, noEnv, "no service key", ""},
		{"bad id", []string{"--service-id", "abc", "--service-key", "k"}, noEnv, "24 hex", ""},
		{"bad rate", []string{"--service-id", testID, "--service-key", "k", "--error-rate", "1.5"}, noEnv, "between 0 and 1", ""},
		{"extra arg", []string{"--service-id", testID, "--service-key", "k", "x"}, noEnv, "unexpected arguments", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseFlags(c.args, io.Discard, c.getenv)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), "from-env") {
					t.Fatalf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil || got.serviceKey != c.wantKey {
				t.Fatalf("got %+v, %v; want key %q", got, err, c.wantKey)
			}
		})
	}
}

func TestNewFakeRejectsBadRegexp(t *testing.T) {
	if _, err := newFake(config{serviceID: testID, serviceKey: "k", unreachable: "("}); err == nil {
		t.Fatal("invalid --unreachable accepted")
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--service-id", testID, "--service-key", testKey,
			"--error-rate", "0", "--latency", "1ms"}, pw, noEnv)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read banner: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "fake-owt listening on ")
	if !ok || strings.HasSuffix(addr, ":0") {
		t.Fatalf("banner %q", line)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	mac := hmac.New(sha256.New, []byte(testKey))
	mac.Write([]byte("1,2"))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
	cases := []struct {
		auth   string
		status int
	}{
		{"MAuth realm=x,mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + testID + ",mauth_cnonce=2,mauth_timestamp=1,mauth_signature=" + sig, 200},
		{"", 401},
	}
	for _, c := range cases {
		req, err := http.NewRequest("GET", "http://"+addr+"/v1/rooms", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("auth %q: status %d, want %d", c.auth, resp.StatusCode, c.status)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no shutdown after cancel")
	}
}

func TestCreateRoomReplyDelayFlag(t *testing.T) {
	c, err := parseFlags([]string{"--service-id", testID, "--service-key", "k", "--create-room-reply-delay", "150ms"}, io.Discard, noEnv)
	if err != nil || c.createRoomDelay != 150*time.Millisecond {
		t.Fatalf("parsed %+v, %v", c, err)
	}
	fake, err := newFake(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL + "/control/fault")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		CreateRoomReplyMS float64 `json:"create_room_reply_delay_ms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.CreateRoomReplyMS != 150 {
		t.Fatalf("fault settings %+v, %v; want create_room_reply_delay_ms 150", f, err)
	}
}

func TestOutputFlags(t *testing.T) {
	c, err := parseFlags([]string{"--service-id", testID, "--service-key", "k", "--output-delay", "3s",
		"--output-rpc-timeout", "250ms", "--push-fail", "^rtmp://down/", "--push-fail-after", "40ms", "--recording-host", "10.0.0.5"}, io.Discard, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := newFake(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL + "/control/fault")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		OutputDelay   float64 `json:"output_delay_ms"`
		RPCTimeout    float64 `json:"output_rpc_timeout_ms"`
		PushFail      string  `json:"push_fail"`
		PushFailAfter float64 `json:"push_fail_after_ms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.OutputDelay != 3000 || f.RPCTimeout != 250 ||
		f.PushFail != "^rtmp://down/" || f.PushFailAfter != 40 {
		t.Fatalf("fault settings %+v, %v", f, err)
	}
	c.pushFail = "("
	if _, err := newFake(c); err == nil || !strings.Contains(err.Error(), "--push-fail") {
		t.Fatalf("invalid --push-fail: %v", err)
	}
	d, err := parseFlags([]string{"--service-id", testID, "--service-key", "k"}, io.Discard, noEnv)
	if err != nil || d.outputRPCTimeout != 2*time.Second || d.pushFailAfter != time.Second || d.recordingHost != "127.0.0.1" {
		t.Fatalf("defaults %+v, %v", d, err)
	}
}
