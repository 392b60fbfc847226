package policy

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// walker walks yaml.v3 nodes and collects every problem with its line.
type walker struct {
	file  string
	errs  Errors
	warns Errors
}

// addf records a problem at node n (line 0 when n is nil).
func (w *walker) addf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	w.errs = append(w.errs, FieldError{File: w.file, Line: line, Field: field, Problem: fmt.Sprintf(format, args...)})
}

var (
	yamlLineRE       = regexp.MustCompile(`line (\d+)`)
	yamlLinePrefixRE = regexp.MustCompile(`^line \d+: `)
)

// parseDocument parses data as exactly one YAML document and returns its root
// node (nil for an empty document).
func (w *walker) parseDocument(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		w.yamlError(err, data)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		w.addf(&extra, "", "more than one YAML document; keep one document per file")
		return nil
	} else if !errors.Is(err, io.EOF) {
		w.yamlError(err, data)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	return root
}

// yamlError records a YAML syntax error of data at its line. The parser
// reports the line where the enclosing block began (a bad indent on line 9
// of a list that starts on line 2 says "line 2"), so the line is the first
// one at which a prefix of the document fails with the same problem.
func (w *walker) yamlError(err error, data []byte) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	if l := problemLine(data, yamlLinePrefixRE.ReplaceAllString(strings.TrimPrefix(msg, "yaml: "), "")); l > 0 {
		line = l
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlLinePrefixRE.ReplaceAllString(msg, "")
	w.errs = append(w.errs, FieldError{File: w.file, Line: line, Problem: "invalid YAML: " + msg})
}

// kindName names a node's type for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a " + strings.TrimPrefix(n.Tag, "!!")
	}
	return "an unsupported node"
}

// noAlias reports aliases and merge keys, which the strict loaders do not support.
func (w *walker) noAlias(n *yaml.Node, field string) bool {
	if n.Kind == yaml.AliasNode {
		w.addf(n, field, "YAML aliases (*name) are not supported; write the value out")
		return false
	}
	return true
}

// mapping checks that n is a mapping whose keys are all in known and returns
// the values by key. Unknown and duplicate keys are reported. ok is false when
// n is not a mapping.
func (w *walker) mapping(n *yaml.Node, field string, known ...string) (map[string]*yaml.Node, bool) {
	if !w.noAlias(n, field) {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		w.addf(n, field, "must be a mapping, got %s", kindName(n))
		return nil, false
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2) // capacity only: an equivalent mutant
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.addf(k, field, "keys must be plain strings, got %s", kindName(k))
			continue
		}
		name := k.Value
		sub := join(field, name)
		if len(known) > 0 && !contains(known, name) {
			w.addf(k, sub, "unknown key %q (known: %s)", name, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[name]; dup {
			w.addf(k, sub, "duplicate key")
			continue
		}
		out[name] = v
	}
	return out, true
}

// list checks that n is a sequence and returns its items.
func (w *walker) list(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	if !w.noAlias(n, field) {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		w.addf(n, field, "must be a list, got %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// str reads a string scalar. Integers and numbers are taken literally (a
// stream may be called 1234); booleans, null and collections are rejected.
func (w *walker) str(n *yaml.Node, field string) (string, bool) {
	if !w.noAlias(n, field) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!int" || n.Tag == "!!float") {
		return n.Value, true
	}
	w.addf(n, field, "must be a string, got %s", kindName(n))
	return "", false
}

// boolean reads a true/false scalar.
func (w *walker) boolean(n *yaml.Node, field string) (bool, bool) {
	if !w.noAlias(n, field) {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	w.addf(n, field, "must be true or false, got %s", kindName(n))
	return false, false
}

// integer reads an integer scalar within [lo, hi].
func (w *walker) integer(n *yaml.Node, field string, lo, hi int) (int, bool) {
	if !w.noAlias(n, field) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		w.addf(n, field, "must be an integer, got %s", kindName(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		w.addf(n, field, "must be an integer between %d and %d", lo, hi)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		w.addf(n, field, "must be between %d and %d, got %d", lo, hi, v)
		return 0, false
	}
	return int(v), true
}

// number reads an integer or float scalar.
func (w *walker) number(n *yaml.Node, field string) (float64, bool) {
	if !w.noAlias(n, field) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	w.addf(n, field, "must be a number, got %s", kindName(n))
	return 0, false
}

// duration reads a Go duration string such as 30s or 1m30s, at least min.
func (w *walker) duration(n *yaml.Node, field string, lowest time.Duration) (time.Duration, bool) {
	if !w.noAlias(n, field) {
		return 0, false // the value is unused when ok is false: 0 -> 1 is an equivalent mutant
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!int" && n.Value == "0" && lowest <= 0 {
			return 0, true
		}
		w.addf(n, field, "must be a duration such as 30s or 1m, got %s", kindName(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		w.addf(n, field, "invalid duration %q: use a number with a unit such as 500ms, 30s or 1m", n.Value)
		return 0, false
	}
	if d < lowest {
		w.addf(n, field, "must be at least %s, got %s", lowest, d)
		return 0, false
	}
	return d, true
}

// join appends a key to a field path.
func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// index appends a list index to a field path.
func index(field string, i int) string {
	return fmt.Sprintf("%s[%d]", field, i)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// maxProblemLines bounds the documents problemLine searches (it parses one
// prefix per line).
const maxProblemLines = 5000

// problemLine returns the first line at which the document's first k lines
// fail to parse with the problem problem, 0 when none does.
func problemLine(data []byte, problem string) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > maxProblemLines {
		return 0
	}
	for k := 1; k <= len(lines); k++ {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if err == nil {
			continue
		}
		got := yamlLinePrefixRE.ReplaceAllString(strings.TrimPrefix(err.Error(), "yaml: "), "")
		if got == problem {
			return k
		}
	}
	return 0
}
