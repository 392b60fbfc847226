package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelpAndFlagErrors(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		var out, errw bytes.Buffer
		err := run(context.Background(), []string{flag}, &out)
		if code := exitCode(err, &errw); code != 0 || errw.Len() != 0 {
			t.Fatalf("%s: exit %d, %q", flag, code, errw.String())
		}
		for _, want := range []string{"fake-srs: an in-memory SRS 6", "Example:", "--hook string", "--vhost stringArray"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s lacks %q:\n%s", flag, want, out.String())
			}
		}
	}
	var out, errw bytes.Buffer
	err := run(context.Background(), []string{"--bogus"}, &out)
	if code := exitCode(err, &errw); code != 1 || !strings.Contains(errw.String(), "fake-srs: unknown flag: --bogus\nRun 'fake-srs --help'") {
		t.Errorf("--bogus: exit %d, stderr %q", code, errw.String())
	}
}
