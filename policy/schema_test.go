package policy

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The room-option schema walker holds a string to its enum whatever the
// enum's length; one allowed value is an enum too (e.g. a codec OWT
// supports in a single flavour).
func TestSchemaEnum(t *testing.T) {
	for _, tc := range []struct {
		name  string
		enum  []string
		value string
		ok    bool
	}{
		{"one value, it", []string{"h264"}, "h264", true},
		{"one value, another", []string{"h264"}, "vp8", false},
		{"two values, the second", []string{"letterbox", "crop"}, "crop", true},
		{"two values, another", []string{"letterbox", "crop"}, "stretch", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.value), &doc); err != nil {
				t.Fatal(err)
			}
			w := &walker{file: "p.yaml"}
			v, ok := w.convert(doc.Content[0], "codec", enumOf(tc.enum...))
			if ok != tc.ok || (len(w.errs) == 0) != tc.ok {
				t.Fatalf("convert(%q) in %v: ok %v, errors %v; want ok %v", tc.value, tc.enum, ok, w.errs, tc.ok)
			}
			if tc.ok && v != tc.value {
				t.Errorf("convert(%q) = %v", tc.value, v)
			}
			if !tc.ok && !strings.Contains(w.errs.Error(), `"`+tc.value+`" is not one of `+strings.Join(tc.enum, ", ")) {
				t.Errorf("error %v does not name the allowed values", w.errs)
			}
		})
	}
}
