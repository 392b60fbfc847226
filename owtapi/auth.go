package owtapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// authRealm is the realm OWT's own challenge uses; the server never checks it.
const authRealm = "http://marte3.dit.upm.es"

// Signature computes an MAuth signature: base64 of the lowercase hex
// HMAC-SHA256 (keyed with key) of "timestamp,cnonce", with ",username,role"
// appended only when both are non-empty. username is signed as sent (OWT
// expects the base64 form of the user name).
func Signature(key, timestamp, cnonce, username, role string) string {
	toSign := timestamp + "," + cnonce
	if username != "" && role != "" {
		toSign += "," + username + "," + role
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// AuthHeader builds the service-level Authorization header value OWT's
// management API accepts: comma separated, no spaces, no quotes, timestamp
// in epoch milliseconds. The key itself is never part of the result.
func AuthHeader(serviceID, key string, now time.Time, cnonce string) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	var b strings.Builder
	b.WriteString("MAuth realm=" + authRealm)
	b.WriteString(",mauth_signature_method=HMAC_SHA256")
	b.WriteString(",mauth_serviceid=" + serviceID)
	b.WriteString(",mauth_cnonce=" + cnonce)
	b.WriteString(",mauth_timestamp=" + ts)
	b.WriteString(",mauth_signature=" + Signature(key, ts, cnonce, "", ""))
	return b.String()
}

// randomNonce returns 16 random lowercase hex characters, like OWT's own
// JavaScript samples.
func randomNonce() string {
	var b [8]byte
	// crypto/rand.Read never fails on supported platforms (Go >= 1.24).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
