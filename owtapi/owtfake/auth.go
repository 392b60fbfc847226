package owtfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// parseMAuth splits an Authorization value like the real mauthParser: items
// on ",", name and value on the first "=", and the first 6 characters of
// each name dropped. Values are kept verbatim (no unquoting, no trimming).
func parseMAuth(header string) map[string]string {
	out := make(map[string]string, 8)
	for _, item := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(item, "=")
		if len(name) < 6 {
			name = ""
		} else {
			name = name[6:]
		}
		out[name] = value
	}
	return out
}

// jsValue renders a parsed header item as JavaScript string concatenation
// would: a missing item becomes "undefined".
func jsValue(items map[string]string, name string) string {
	if v, ok := items[name]; ok {
		return v
	}
	return "undefined"
}

// mauthSignature computes base64(lowercase-hex(HMAC-SHA256(key, toSign))).
func mauthSignature(key, toSign string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// isObjectID reports whether s is a 24-hex-character Mongo ObjectId.
func isObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// authenticate verifies an Authorization header per spec section 2 and
// returns the (lowercase) service id it authenticates.
func (s *Server) authenticate(header string) (string, *apiError) {
	if header == "" {
		return "", &errAuth
	}
	items := parseMAuth(header)
	serviceID, ok := items["serviceid"]
	if !ok {
		return "", &errAuth
	}
	if !isObjectID(serviceID) {
		e := internalError(`CastError Cast to ObjectId failed for value "` + serviceID +
			`" (type string) at path "_id" for model "Service"`)
		return "", &e
	}
	serviceID = strings.ToLower(serviceID)
	key, ok := s.services[serviceID]
	if !ok {
		return "", &errAuth
	}
	if items["signature_method"] != "HMAC_SHA256" {
		return "", &errAuth
	}
	toSign := jsValue(items, "timestamp") + "," + jsValue(items, "cnonce")
	user, hasUser := items["username"]
	role, hasRole := items["role"]
	if hasUser && hasRole {
		toSign += "," + user + "," + role
	}
	if !hmac.Equal([]byte(mauthSignature(key, toSign)), []byte(items["signature"])) {
		return "", &errAuth
	}
	return serviceID, nil
}
