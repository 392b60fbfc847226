package policy

import (
	"fmt"
	"strings"
)

// FieldError is one validation problem, located by file, line and field path.
type FieldError struct {
	File    string // file name as given to the loader
	Line    int    // 1-based line; 0 when unknown
	Field   string // dotted path such as routes[1].room; "" for the whole file
	Problem string // what is wrong and, where useful, how to fix it
}

// Error formats the problem as "file:line: field: problem".
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Errors holds every problem found in one file, in the order found.
type Errors []FieldError

// Error lists the problems, one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns e as an error, or nil when there is no problem.
func (e Errors) err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}
