// Package hack holds the scripts of the build; this test runs
// hack/prereqs.sh against stubbed commands (nothing is installed).
package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubPath makes a PATH holding every command of the real PATH except
// hidden, plus the given scripts.
func stubPath(t *testing.T, hidden []string, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			name := e.Name()
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				continue // the first on PATH wins
			}
			hide := false
			for _, h := range hidden {
				hide = hide || h == name
			}
			if !hide {
				os.Symlink(filepath.Join(p, name), filepath.Join(dir, name))
			}
		}
	}
	for name, body := range scripts {
		os.Remove(filepath.Join(dir, name))
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPrereqs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "apt.log")
	answering := map[string]string{
		"docker":  `echo 20.10.24`,
		"podman":  `echo 4.3.1`,
		"apt-get": `echo "apt-get $*" >>` + log,
		"dockerd": `exit 0`,
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range answering {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		hidden     []string
		scripts    map[string]string
		wantExit   int
		wantOut    []string // in stdout+stderr
		wantApt    []string // in apt-get install's arguments
		wantNotApt []string
	}{
		{
			name: "not root, no gcc: says what is missing at once", hidden: []string{"gcc"},
			scripts:  with(map[string]string{"id": `echo 1000`}),
			wantExit: 1, wantOut: []string{"missing gcc libc6-dev: run sudo bash hack/prereqs.sh"},
		},
		{
			name: "not root, no gcc and no Go: both said", hidden: []string{"gcc", "go"},
			scripts:  with(map[string]string{"id": `echo 1000`}),
			wantExit: 1, wantOut: []string{"missing gcc libc6-dev", "Go is not installed: install Go 1."},
		},
		{
			name: "root, no gcc nor debootstrap: installed with apt", hidden: []string{"gcc", "debootstrap"},
			scripts:  with(map[string]string{"id": `echo 0`}),
			wantExit: 0, wantOut: []string{"installing debootstrap gcc libc6-dev", "ready"}, wantApt: []string{"install", "gcc", "libc6-dev", "debootstrap"},
		},
		{
			name:     "root, gcc without a static libc: libc6-dev installed",
			scripts:  with(map[string]string{"id": `echo 0`, "gcc": `exit 1`}),
			wantExit: 0, wantApt: []string{"libc6-dev"}, wantNotApt: []string{" gcc"},
		},
		{
			name: "Go too old", scripts: with(map[string]string{"id": `echo 0`, "go": `[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8`}),
			wantExit: 1, wantOut: []string{"Go 1.19.8 is too old"},
		},
		{
			name: "everything there: nothing installed", scripts: with(map[string]string{"id": `echo 0`}),
			wantExit: 0, wantOut: []string{"prereqs: docker 20.10.24, podman 4.3.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(log)
			cmd := exec.Command("/bin/bash", "prereqs.sh")
			cmd.Env = append(os.Environ(), "PATH="+stubPath(t, tt.hidden, tt.scripts))
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.wantExit {
				t.Errorf("exit %d, want %d:\n%s", code, tt.wantExit, out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			apt, _ := os.ReadFile(log)
			var install string
			for _, l := range strings.Split(string(apt), "\n") {
				if strings.Contains(l, " install ") {
					install = l
				}
			}
			for _, w := range tt.wantApt {
				if !strings.Contains(install, w) {
					t.Errorf("apt-get install lacks %q: %q", w, install)
				}
			}
			for _, w := range tt.wantNotApt {
				if strings.Contains(install, w) {
					t.Errorf("apt-get install has %q: %q", w, install)
				}
			}
			if len(tt.wantApt) == 0 && install != "" {
				t.Errorf("installed something: %q", install)
			}
		})
	}
}
