package policy

import (
	"errors"
	"testing"
)

// A YAML error whose message carries no line (control characters) is
// placed on the line that holds the problem, not lost or misread.
func TestYAMLErrorWithoutLine(t *testing.T) {
	for _, c := range []struct {
		data string
		want string
	}{
		{"\x01", "p.yaml:1: invalid YAML: control characters are not allowed"},
		{"routes: []\nx: \"a\x01b\"\n", "p.yaml:2: invalid YAML: control characters are not allowed"},
		{"routes: []\n# ok\nx: y\n\x7f: c\n", "p.yaml:4: invalid YAML: control characters are not allowed"},
	} {
		_, err := ParsePolicy("p.yaml", []byte(c.data), func(string) string { return "" })
		var errs Errors
		if !errors.As(err, &errs) || err.Error() != c.want {
			t.Errorf("%q: %v, want %s", c.data, err, c.want)
		}
	}
}
