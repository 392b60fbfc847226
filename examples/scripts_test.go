package examples

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellScript is a shell script of the repository: its path from the
// repository root, the shell that parses it, and whether it can be run
// directly (CI runs .ci/run as a command).
type shellScript struct {
	path       string
	shell      string
	executable bool
}

// scriptShell names the shell of a file from its first line ("#!/bin/sh",
// "#!/usr/bin/env bash", …) or its extension; "" if it is not a shell script.
func scriptShell(name string, first string) string {
	if strings.HasPrefix(first, "#!") {
		f := strings.Fields(strings.TrimPrefix(first, "#!"))
		if len(f) > 0 && filepath.Base(f[0]) == "env" {
			f = f[1:]
			for len(f) > 0 && strings.HasPrefix(f[0], "-") {
				f = f[1:]
			}
		}
		if len(f) > 0 {
			switch sh := filepath.Base(f[0]); sh {
			case "sh", "bash", "dash":
				return sh
			}
		}
		return ""
	}
	switch filepath.Ext(name) {
	case ".sh":
		return "sh"
	case ".bash":
		return "bash"
	}
	return ""
}

// firstLine returns the first line of a file (at most 256 bytes of it), or
// "" for a file that is not there.
func firstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return "" // tracked but deleted in this checkout
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadSlice('\n')
	if len(line) > 256 {
		line = line[:256]
	}
	return strings.TrimRight(string(line), "\r\n")
}

// shellScripts lists the shell scripts tracked by git under root (or, in a
// copy without .git, every file under root but bin/).
func shellScripts(t *testing.T, root string) []shellScript {
	t.Helper()
	type file struct {
		path string
		exec bool
	}
	var files []file
	out, err := exec.Command("git", "-C", root, "ls-files", "-s", "-z").Output()
	if err == nil {
		for _, rec := range bytes.Split(out, []byte{0}) {
			// <mode> <object> <stage>\t<path>
			meta, path, ok := strings.Cut(string(rec), "\t")
			if !ok {
				continue
			}
			files = append(files, file{path: path, exec: strings.HasPrefix(meta, "100755 ")})
		}
	} else {
		t.Logf("git ls-files in %s: %v; walking the tree instead", root, err)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				if rel == ".git" || rel == "bin" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, file{path: filepath.ToSlash(rel), exec: info.Mode().Perm()&0o111 != 0})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var scripts []shellScript
	for _, f := range files {
		if sh := scriptShell(f.path, firstLine(t, filepath.Join(root, f.path))); sh != "" {
			scripts = append(scripts, shellScript{path: f.path, shell: sh, executable: f.exec})
		}
	}
	return scripts
}

// TestShellScriptsParse runs `bash -n` (or `sh -n` for a #!/bin/sh script)
// on every shell script of the repository, .ci/run first of all: a misplaced
// block in .ci/run once failed CI in one second (exit 2) while every Go test
// passed. Scripts with a #! line must be executable in git, since CI runs
// .ci/run as a command.
func TestShellScriptsParse(t *testing.T) {
	scripts := shellScripts(t, "..")
	seen := map[string]bool{}
	for _, s := range scripts {
		seen[s.path] = true
		out, err := exec.Command(s.shell, "-n", filepath.Join("..", s.path)).CombinedOutput()
		if err != nil {
			t.Errorf("%s -n %s: %v\n%s", s.shell, s.path, err, out)
		}
		if !s.executable {
			t.Errorf("%s is not executable (git update-index --chmod=+x %s)", s.path, s.path)
		}
	}
	for _, want := range []string{".ci/run", ".ci/image-check"} {
		if !seen[want] {
			t.Errorf("%s was not found among the shell scripts %v", want, scripts)
		}
	}
}

func TestScriptShell(t *testing.T) {
	for _, c := range []struct{ name, first, want string }{
		{".ci/run", "#!/usr/bin/env bash", "bash"},
		{"x", "#!/bin/sh", "sh"},
		{"x", "#!/bin/bash -e", "bash"},
		{"x", "#!/usr/bin/env -S bash -e", "bash"},
		{"x", "#!/usr/bin/env python3", ""},
		{"x.sh", "#!/usr/bin/env python3", ""},
		{"tools/x.sh", "set -e", "sh"},
		{"tools/x.bash", "", "bash"},
		{"README.md", "# srs-owt-proxy", ""},
	} {
		if got := scriptShell(c.name, c.first); got != c.want {
			t.Errorf("scriptShell(%q, %q) = %q, want %q", c.name, c.first, got, c.want)
		}
	}
}
