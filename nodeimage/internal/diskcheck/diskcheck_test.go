package diskcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheck(t *testing.T) {
	// /a and /b share a filesystem with 8 GiB free; /c has 3 GiB.
	fsOf := func(dir string) (uint64, uint64, error) {
		switch {
		case strings.HasPrefix(dir, "/a"), strings.HasPrefix(dir, "/b"):
			return 1, 8 * GiB, nil
		case strings.HasPrefix(dir, "/c"):
			return 2, 3 * GiB, nil
		}
		return 0, 0, errors.New("no such filesystem")
	}
	tests := []struct {
		name  string
		needs []Need
		want  []string // substrings of the error; none: no error
	}{
		{"fits", []Need{{"kinc cache", "/a", 4 * GiB}, {"GOCACHE", "/b", 4 * GiB}, {"docker image store", "/c", 2 * GiB}}, nil},
		{"shared filesystem summed", []Need{{"kinc cache", "/a", 4 * GiB}, {"GOCACHE", "/b/go", 5 * GiB}},
			[]string{"not enough disk space: 8.0 GiB free where the build needs about 9.0 GiB (kinc cache /a: 4.0 GiB, GOCACHE /b/go: 5.0 GiB)", "KINC_CACHE_DIR"}},
		{"each short filesystem named", []Need{{"kinc cache", "/a", 9 * GiB}, {"podman image store", "/c", 4 * GiB}},
			[]string{"(kinc cache /a: 9.0 GiB)", "3.0 GiB free where the build needs about 4.0 GiB (podman image store /c: 4.0 GiB)"}},
		{"unknown filesystem left out", []Need{{"kinc cache", "/elsewhere", 100 * GiB}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.needs, fsOf)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestHostMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	dev, free, err := Host(dir)
	if err != nil || free == 0 {
		t.Fatalf("Host(%s) = %d %d %v", dir, dev, free, err)
	}
	// A cold cache directory is on its parent's filesystem.
	dev2, _, err := Host(filepath.Join(dir, "not", "yet"))
	if err != nil || dev2 != dev {
		t.Errorf("missing directory: dev %d %v, want %d", dev2, err, dev)
	}
	if _, err := os.Stat(filepath.Join(dir, "not")); !os.IsNotExist(err) {
		t.Error("Host created the directory")
	}
}

func TestExplainFull(t *testing.T) {
	other := errors.New("exit status 1")
	if ExplainFull(other, "/") != other {
		t.Error("an unrelated error was changed")
	}
	for _, err := range []error{fmt.Errorf("write: %w", syscall.ENOSPC), errors.New("tar: x: Cannot write: No space left on device")} {
		got := ExplainFull(err, "/")
		if !strings.HasPrefix(got.Error(), "disk full: ") || !errors.Is(got, err) {
			t.Errorf("ExplainFull(%v) = %v", err, got)
		}
	}
}
