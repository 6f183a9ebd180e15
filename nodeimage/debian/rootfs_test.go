package debian

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

// fakeDebootstrap puts a debootstrap on PATH (BuildRootfs looks it up) and
// answers debootstrap and tar the way the real ones leave files.
func fakeDebootstrap(t *testing.T, fail bool) *run.Recorder {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		switch c.Args[0] {
		case "debootstrap":
			rootfs := c.Args[len(c.Args)-2]
			for _, f := range []string{"debootstrap/debootstrap.log", "var/log/dpkg.log", "etc/os-release"} {
				_ = os.MkdirAll(filepath.Dir(filepath.Join(rootfs, f)), 0o755)
				_ = os.WriteFile(filepath.Join(rootfs, f), []byte("W: disk full\n"), 0o644)
			}
			if fail {
				return nil, &run.Error{Line: c.Line(), ExitCode: 1, Err: errors.New("exit status 1")}
			}
		case "tar":
			return nil, os.WriteFile(c.Args[slices.Index(c.Args, "-cf")+1], []byte("abc"), 0o644)
		}
		return nil, nil
	}}
}

func TestBuildRootfs(t *testing.T) {
	cache := t.TempDir()
	in := RootfsInput{CacheDir: cache, Suite: "bookworm", Mirror: "http://m/", Arch: "arm64", Packages: []string{"systemd", "runc"}, Recipe: "r1"}
	rec := fakeDebootstrap(t, false)
	res, err := BuildRootfs(context.Background(), rec, io.Discard, in)
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, c := range rec.Calls() {
		progs = append(progs, c.Args[0])
	}
	if got := strings.Join(progs, " "); got != "rm mkdir debootstrap rm write mv tar sha256sum mv write" {
		t.Errorf("ran %s", got)
	}
	deb := rec.Calls()[2].Line()
	if !strings.Contains(deb, "--arch=arm64 --include=systemd,runc bookworm") {
		t.Errorf("debootstrap line %s", deb)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "var/log/dpkg.log")); !os.IsNotExist(err) {
		t.Errorf("logs kept: %v", err)
	}
	if res.Layer.DiffID != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("layer %+v", res.Layer)
	}
	// Cached: nothing runs, same result.
	again := &run.Recorder{}
	res2, err := BuildRootfs(context.Background(), again, io.Discard, in)
	if err != nil || res2 != res || len(again.Calls()) != 0 {
		t.Errorf("cached build: %+v %v, ran %v", res2, err, again.Lines())
	}
	// Another architecture is another rootfs.
	in.Arch = "amd64"
	if in.key() == (RootfsInput{CacheDir: cache, Suite: "bookworm", Mirror: "http://m/", Arch: "arm64", Packages: []string{"systemd", "runc"}, Recipe: "r1"}).key() {
		t.Error("arch not in the cache key")
	}
}

func TestBuildRootfsFailure(t *testing.T) {
	cache := t.TempDir()
	rec := fakeDebootstrap(t, true)
	_, err := BuildRootfs(context.Background(), rec, io.Discard, RootfsInput{CacheDir: cache, Suite: "bookworm", Arch: "amd64"})
	if err == nil || !strings.Contains(err.Error(), "debootstrap.log (tail):\n    W: disk full") {
		t.Errorf("error %v lacks the log tail", err)
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "rootfs", "*")); len(m) != 0 {
		t.Errorf("left %v", m)
	}
}
