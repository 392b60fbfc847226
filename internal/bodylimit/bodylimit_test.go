package bodylimit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	body := strings.Repeat("x", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") != "" {
			w.Header().Set("Transfer-Encoding", "chunked")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	cases := []struct {
		max     int64
		chunked bool
		wantErr bool
	}{
		{1000, false, false}, {1000, true, false}, {999, false, true}, {999, true, true}, {10, true, true},
	}
	for _, c := range cases {
		client := &http.Client{Transport: Wrap(http.DefaultTransport, c.max)}
		url := srv.URL
		if c.chunked {
			url += "?chunked=1"
		}
		resp, err := client.Get(url)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if c.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrTooLarge)) || (!c.wantErr && string(b) != body) {
			t.Errorf("max %d chunked %v: %d bytes, err %v", c.max, c.chunked, len(b), err)
		}
	}
}
