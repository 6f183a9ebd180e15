package gobuild

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers/run"
)

// TestRuntime: containerd's three programs pure Go and version-stamped in
// their module, runc with cgo, seccomp and static linking in its own.
func TestRuntime(t *testing.T) {
	cache := t.TempDir()
	rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		if i := slices.Index(c.Args, "-o"); i > 0 {
			_ = os.MkdirAll(filepath.Dir(c.Args[i+1]), 0o755)
			return nil, os.WriteFile(c.Args[i+1], nil, 0o755)
		}
		return nil, nil
	}}
	bins, err := Runtime(context.Background(), rec, io.Discard, RuntimeInput{CacheDir: cache, Containerd: "v2.4.2", Runc: "v1.5.3"})
	if err != nil {
		t.Fatal(err)
	}
	builds := map[string]string{}
	for _, l := range rec.Lines() {
		for n := range bins {
			if strings.Contains(l, " build ") && strings.Contains(l, "/out/"+n+".tmp ") {
				builds[n] = l
			}
		}
	}
	tests := []struct {
		bin, dir string
		want     []string
	}{
		{"containerd", "containerd-v2.4.2", []string{"CGO_ENABLED=0", "version.Version=v2.4.2", "no_btrfs", "/v2/cmd/containerd"}},
		{"ctr", "containerd-v2.4.2", []string{"CGO_ENABLED=0", "version.Version=v2.4.2", "/v2/cmd/ctr"}},
		{"containerd-shim-runc-v2", "containerd-v2.4.2", []string{"CGO_ENABLED=0", "/v2/cmd/containerd-shim-runc-v2"}},
		{"runc", "runc-v1.5.3", []string{"CGO_ENABLED=1", "-tags seccomp,urfave_cli_no_docs,netgo,osusergo", "-extldflags -static", "github.com/opencontainers/runc"}},
	}
	for _, tt := range tests {
		t.Run(tt.bin, func(t *testing.T) {
			if want := filepath.Join(cache, "go", tt.dir, "out", tt.bin); bins[tt.bin] != want {
				t.Errorf("binary %q, want %q", bins[tt.bin], want)
			}
			for _, w := range append(tt.want, "go -C "+filepath.Join(cache, "go", tt.dir)+" build") {
				if !strings.Contains(builds[tt.bin], w) {
					t.Errorf("build line %q lacks %q", builds[tt.bin], w)
				}
			}
		})
	}
	gomod, err := os.ReadFile(filepath.Join(cache, "go", "runc-v1.5.3", "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "require github.com/opencontainers/runc v1.5.3\n") {
		t.Errorf("runc go.mod %q (%v)", gomod, err)
	}
}
