//go:build e2e

package nodeimage_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/providers/run"
)

// TestE2EBuildBadInput runs real builds that must fail: each error names the
// step and the cause, and leaves no image tagged and no work directory
// behind. Mounting the small disks needs root, as every e2e test here does.
func TestE2EBuildBadInput(t *testing.T) {
	rts := runtimes(t)
	defaultCache := nodeimage.CacheDir()
	tests := []struct {
		name    string
		version string
		// env is set for the build (the go and debootstrap commands inherit it).
		env func(t *testing.T) map[string]string
		// cacheDir is the build's cache directory (default: the shared one,
		// whose debootstrap rootfs the default image build left there).
		cacheDir func(t *testing.T) string
		// fillDiskAt, when set, fills the cache directory's disk as soon as
		// the build prints a line containing it.
		fillDiskAt string
		want       []string
	}{
		{
			name:    "unknown kubernetes version",
			version: "v1.34.99",
			want:    []string{step(2, "kubernetes binaries"), "k8s.io/kubernetes@v1.34.99 does not exist"},
		},
		{
			name: "unreachable module proxy",
			env: func(t *testing.T) map[string]string {
				return map[string]string{"GOPROXY": "http://127.0.0.1:9", "GOMODCACHE": t.TempDir()}
			},
			want: []string{step(2, "kubernetes binaries"), "the Go module proxy cannot be reached (GOPROXY=http://127.0.0.1:9)"},
		},
		{
			name:     "debootstrap missing",
			env:      func(t *testing.T) map[string]string { return map[string]string{"PATH": pathWithout(t, "debootstrap")} },
			cacheDir: func(t *testing.T) string { return t.TempDir() },
			want:     []string{step(1, "base rootfs"), "debootstrap is not installed (apt-get install debootstrap)"},
		},
		{
			name:     "disk too small",
			cacheDir: func(t *testing.T) string { return smallDisk(t, 64<<20) },
			want:     []string{"not enough disk space", "KINC_CACHE_DIR"},
		},
		{
			name:       "disk fills up",
			cacheDir:   func(t *testing.T) string { return smallDisk(t, 4<<30+256<<20) },
			fillDiskAt: "debootstrap --variant",
			want:       []string{step(1, "base rootfs"), "disk full", "No space left on device"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != nil {
				for k, v := range tt.env(t) {
					t.Setenv(k, v)
				}
			}
			cache := defaultCache
			if tt.cacheDir != nil {
				cache = tt.cacheDir(t)
			}
			before := workDirs(t, cache)
			image := fmt.Sprintf("kinc-e2e-bad/node:case%d", i)
			var out strings.Builder
			var w io.Writer = &out
			if tt.fillDiskAt != "" {
				w = &onLine{w: &out, match: tt.fillDiskAt, fn: func() { fillDisk(t, cache, 8<<20) }}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			_, err := nodeimage.Build(ctx, nodeimage.Options{KubernetesVersion: tt.version, Image: image, Runtimes: rts,
				Runner: &run.Exec{}, Out: w, CacheDir: cache})
			t.Logf("progress:\n%s", out.String())
			if err == nil {
				t.Fatal("build succeeded")
			}
			t.Logf("error: %v", err)
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
			for _, rt := range rts {
				if ok, err := rt.ImageExists(ctx, image); err != nil || ok {
					t.Errorf("%s: image %s left tagged (%v)", rt.Name(), image, err)
				}
			}
			if after := workDirs(t, cache); after != before {
				t.Errorf("work directories left in %s: %q, before the build %q", cache, after, before)
			}
		})
	}
}

// step is how an error names step n, whose name starts with name.
func step(n int, name string) string {
	return fmt.Sprintf("step %d/%d %s", n, len(nodeimage.StepNames()), name)
}

func workDirs(t *testing.T, cache string) string {
	m, err := filepath.Glob(filepath.Join(cache, "build-*"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(m, " ")
}

// pathWithout is $PATH without the directories that hold prog.
func pathWithout(t *testing.T, prog string) string {
	all := filepath.SplitList(os.Getenv("PATH"))
	var keep []string
	for _, d := range all {
		if _, err := os.Stat(filepath.Join(d, prog)); err != nil {
			keep = append(keep, d)
		}
	}
	if len(keep) == len(all) {
		t.Fatalf("%s is not on PATH, so its absence proves nothing: run bash hack/prereqs.sh", prog)
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

// smallDisk mounts a tmpfs of size bytes, unmounted when the test ends.
func smallDisk(t *testing.T, size int64) string {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "kinc-e2e-small", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a %d-byte tmpfs (the test needs root): %v: %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk leaves about leave bytes free on dir's filesystem.
func fillDisk(t *testing.T, dir string, leave int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Error(err)
		return
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if size := int64(st.Bavail)*st.Bsize - leave; size > 0 {
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
			t.Errorf("fill %s: %v", dir, err)
		}
	}
}

// onLine passes writes through and calls fn once, when the output first
// contains match.
type onLine struct {
	w     io.Writer
	match string
	fn    func()
	mu    sync.Mutex
	seen  string
	fired bool
}

func (o *onLine) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.fired {
		o.seen += string(p)
		if strings.Contains(o.seen, o.match) {
			o.fired = true
			o.fn()
		}
	}
	return o.w.Write(p)
}
