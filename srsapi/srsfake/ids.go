package srsfake

import "math/rand/v2"

const idChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// randomID returns n characters like SRS's ids (digits and lower case).
func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idChars[rand.IntN(len(idChars))]
	}
	return string(b)
}

// newObjectID returns a stream or vhost id such as "vid-0i23620".
func newObjectID() string { return "vid-" + randomID(7) }

// newClientID returns a client id such as "38x2943d".
func newClientID() string { return randomID(8) }
