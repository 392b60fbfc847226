package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHelpAndFlagErrors(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		var out, errw bytes.Buffer
		err := run(context.Background(), []string{flag}, &out, noEnv)
		if code := exitCode(err, &errw); code != 0 || errw.Len() != 0 {
			t.Fatalf("%s: exit %d, %q", flag, code, errw.String())
		}
		for _, want := range []string{"fake-owt: an in-memory OWT", "Example:", "--service-id string", "--latency duration"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s lacks %q:\n%s", flag, want, out.String())
			}
		}
	}
	var out, errw bytes.Buffer
	err := run(context.Background(), []string{"--bogus"}, &out, noEnv)
	if code := exitCode(err, &errw); code != 1 || !strings.Contains(errw.String(), "fake-owt: unknown flag: --bogus\nRun 'fake-owt --help'") || out.Len() != 0 {
		t.Errorf("--bogus: exit %d, stderr %q, stdout %q", code, errw.String(), out.String())
	}
	if exitCode(nil, &errw) != 0 || exitCode(errors.New("x"), &errw) != 1 {
		t.Error("exitCode")
	}
}
