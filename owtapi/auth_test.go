package owtapi

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestSignatureVectors checks the worked examples of spec section 2.4.
func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name, key, ts, cnonce, user, role string
		hex, want                         string
	}{
		{
			name: "service level", key: "abc", ts: "1700000000000", cnonce: "12345",
			hex:  "21d29d6ba612ffa47057908f9fdaa1bc39cebbda9f064da5b131d4fb10fbeceb",
			want: "MjFkMjlkNmJhNjEyZmZhNDcwNTc5MDhmOWZkYWExYmMzOWNlYmJkYTlmMDY0ZGE1YjEzMWQ0ZmIxMGZiZWNlYg==",
		},
		{
			name: "user and role", key: "abc", ts: "1700000000000", cnonce: "12345",
			user: base64.StdEncoding.EncodeToString([]byte("alice")), role: "admin",
			hex:  "20ad3352f2c21a713d0eeca405255b6049be9fb8ffe5954f8b3b2fd86f5806f5",
			want: "MjBhZDMzNTJmMmMyMWE3MTNkMGVlY2E0MDUyNTViNjA0OWJlOWZiOGZmZTU5NTRmOGIzYjJmZDg2ZjU4MDZmNQ==",
		},
		{
			name: "user without role is not signed", key: "abc", ts: "1700000000000", cnonce: "12345",
			user: "YWxpY2U=",
			hex:  "21d29d6ba612ffa47057908f9fdaa1bc39cebbda9f064da5b131d4fb10fbeceb",
			want: "MjFkMjlkNmJhNjEyZmZhNDcwNTc5MDhmOWZkYWExYmMzOWNlYmJkYTlmMDY0ZGE1YjEzMWQ0ZmIxMGZiZWNlYg==",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Signature(tt.key, tt.ts, tt.cnonce, tt.user, tt.role)
			if got != tt.want {
				t.Errorf("Signature = %s, want %s", got, tt.want)
			}
			if dec, _ := base64.StdEncoding.DecodeString(got); string(dec) != tt.hex {
				t.Errorf("decoded signature = %s, want %s", dec, tt.hex)
			}
			if len(got) != 88 {
				t.Errorf("len = %d, want 88", len(got))
			}
		})
	}
}

func TestAuthHeader(t *testing.T) {
	got := AuthHeader("5f1c0000000000000000abcd", "abc", time.UnixMilli(1700000000000), "12345")
	want := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256," +
		"mauth_serviceid=5f1c0000000000000000abcd,mauth_cnonce=12345,mauth_timestamp=1700000000000," +
		"mauth_signature=MjFkMjlkNmJhNjEyZmZhNDcwNTc5MDhmOWZkYWExYmMzOWNlYmJkYTlmMDY0ZGE1YjEzMWQ0ZmIxMGZiZWNlYg=="
	if got != want {
		t.Errorf("AuthHeader =\n%s\nwant\n%s", got, want)
	}
}

func TestRandomNonce(t *testing.T) {
	a, b := randomNonce(), randomNonce()
	for _, n := range []string{a, b} {
		if len(n) != 16 {
			t.Errorf("nonce %q: len %d, want 16", n, len(n))
		}
		for _, r := range n {
			if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
				t.Errorf("nonce %q is not lowercase hex", n)
			}
		}
	}
	if a == b {
		t.Errorf("two nonces are equal: %q", a)
	}
}
