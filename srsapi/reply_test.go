package srsapi

import (
	"net/http/httptest"
	"testing"
)

func TestWriteOKBytes(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteOK(rec)
	if rec.Code != 200 || rec.Body.String() != `{"code":0}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("WriteOK = %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}
	if b := rec.Body.String(); b == "0\n" || b[len(b)-1] == '\n' {
		t.Fatalf("WriteOK body ends in a newline: %q", b)
	}
}

func TestWriteReject(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		want   string
	}{
		{403, "denied by policy", `{"code":403,"msg":"denied by policy"}`},
		{0, "zero is acceptance", `{"code":1,"msg":"zero is acceptance"}`},
		{1, `quote " and <tag>`, `{"code":1,"msg":"quote \" and \u003ctag\u003e"}`},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		WriteReject(rec, tc.code, tc.reason)
		if rec.Code != 200 || rec.Body.String() != tc.want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("WriteReject(%d) = %d %q, want 200 %q", tc.code, rec.Code, rec.Body.String(), tc.want)
		}
	}
}
