package fileop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

// TestEffects: every operation is done through the runner (the Recorder
// does it and records its line; a dry run only prints it).
func TestEffects(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ctx := context.Background()
	tests := []struct {
		name string
		op   func(f FS) error
		line string
		// check runs after the Recorder did the effect.
		check func() bool
	}{
		{"mkdir", func(f FS) error { return f.MkdirAll(ctx, p("a/b"), 0o755) }, "mkdir -p -m 755 " + p("a/b"),
			func() bool { st, err := os.Stat(p("a/b")); return err == nil && st.IsDir() }},
		{"write", func(f FS) error { return f.WriteFile(ctx, p("a/f"), []byte("hi"), 0o600) }, "write " + p("a/f") + " '2 bytes' 'mode 600'",
			func() bool { b, _ := os.ReadFile(p("a/f")); return string(b) == "hi" }},
		{"copy", func(f FS) error { return f.CopyFile(ctx, p("a/f"), p("c/d/g"), 0o755) }, "install -D -m 755 " + p("a/f") + " " + p("c/d/g"),
			func() bool { st, err := os.Stat(p("c/d/g")); return err == nil && st.Mode().Perm() == 0o755 }},
		{"chmod", func(f FS) error { return f.Chmod(ctx, 0o644, p("c/d/g")) }, "chmod 644 " + p("c/d/g"),
			func() bool { st, err := os.Stat(p("c/d/g")); return err == nil && st.Mode().Perm() == 0o644 }},
		{"rename", func(f FS) error { return f.Rename(ctx, p("a/f"), p("a/h")) }, "mv " + p("a/f") + " " + p("a/h"),
			func() bool { _, err := os.Stat(p("a/h")); return err == nil }},
		{"symlink", func(f FS) error { return f.Symlink(ctx, "/x", p("l")) }, "ln -s /x " + p("l"),
			func() bool { t, _ := os.Readlink(p("l")); return t == "/x" }},
		{"remove", func(f FS) error { return f.RemoveAll(ctx, p("a"), p("c")) }, "rm -rf " + p("a") + " " + p("c"),
			func() bool { _, err := os.Stat(p("a")); return os.IsNotExist(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var printed strings.Builder
			before, _ := filepath.Glob(filepath.Join(dir, "*"))
			if err := tt.op(FS{R: &run.DryRun{Out: &printed}}); err != nil {
				t.Fatal(err)
			}
			if after, _ := filepath.Glob(filepath.Join(dir, "*")); len(after) != len(before) {
				t.Errorf("dry run changed %s: %v -> %v", dir, before, after)
			}
			if printed.String() != tt.line+"\n" {
				t.Errorf("dry run printed %q, want %q", printed.String(), tt.line)
			}
			rec := &run.Recorder{}
			if err := tt.op(FS{R: rec}); err != nil {
				t.Fatal(err)
			}
			if l := rec.Lines(); len(l) != 1 || l[0] != tt.line || !tt.check() {
				t.Errorf("recorded %v, effect done: %v", l, tt.check())
			}
		})
	}
}

func TestMkdirTemp(t *testing.T) {
	dir := t.TempDir()
	var printed strings.Builder
	d, err := FS{R: &run.DryRun{Out: &printed}}.MkdirTemp(context.Background(), dir, "build-")
	if err != nil || d != filepath.Join(dir, "build-XXXXXX") {
		t.Errorf("dry run: %q %v", d, err)
	}
	d, err = FS{R: &run.Recorder{}}.MkdirTemp(context.Background(), dir, "build-")
	if st, serr := os.Stat(d); err != nil || serr != nil || !st.IsDir() || !strings.HasPrefix(d, filepath.Join(dir, "build-")) {
		t.Errorf("MkdirTemp = %q %v %v", d, err, serr)
	}
}
