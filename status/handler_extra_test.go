package status

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// Hours and days round to the nearest whole unit: values just either side
// of a half unit tell the divisors apart.
func TestAgeTextRounding(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{
		{37799, "10h"},    // 10.4997 h
		{37801, "11h"},    // 10.5003 h
		{8683157, "100d"}, // 100.4995 d
		{8683244, "101d"}, // 100.5005 d
	} {
		if got := ageText(c.s); got != c.want {
			t.Errorf("ageText(%v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// Both views are never cached; the JSON is indented for a person reading
// it with curl, the page says it is HTML.
func TestHandlerHeaders(t *testing.T) {
	srv := httptest.NewServer(Handler(func() *Report { return fixture(true) }))
	defer srv.Close()
	for _, c := range []struct {
		path, ctype, prefix string
	}{
		{"/status", "application/json", "{\n  \""},
		{"/status/", "text/html; charset=utf-8", "<!doctype html>"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", c.path, cc)
		}
		if ct := resp.Header.Get("Content-Type"); ct != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, ct, c.ctype)
		}
		if !strings.HasPrefix(string(b), c.prefix) {
			t.Errorf("%s: body starts %.40q, want %q", c.path, b, c.prefix)
		}
	}
}

// A room with neither input, op nor output still gets its row; a held op
// without a known time left says only its rule.
func TestWriteTableBareRoomAndHold(t *testing.T) {
	r := fixture(false)
	r.Status.Rooms = []reconcile.RoomStatus{{Name: "bare", ID: "r-9", Exists: true}}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "bare ") {
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(rows) != 1 || rows[0] != "bare - r-9 -" {
		t.Errorf("rows of a bare room: %q\n%s", rows, b.String())
	}
	for _, c := range []struct {
		left float64
		want string
	}{
		{0, "- stop_input (held: incomplete_listing)"},
		{-1, "- stop_input (held: incomplete_listing)"},
		{0.5, "- stop_input (held: incomplete_listing, 0.5s left)"},
	} {
		o := reconcile.OpStatus{Op: reconcile.Op{Kind: reconcile.OpStopInput, Held: "incomplete listing: srs \"b\": refused", Rule: reconcile.RuleIncomplete},
			Action: "destroy", TimeLeftSeconds: c.left}
		if got := opText(o); got != c.want {
			t.Errorf("opText(left %v) = %q, want %q", c.left, got, c.want)
		}
	}
}
