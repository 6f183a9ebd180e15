package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// TestDryRunWritesNothing: a dry-run build with nothing cached prints every
// step and leaves no cache directory, marker or image behind (a marker
// without its rootfs used to break the next real build).
func TestDryRunWritesNothing(t *testing.T) {
	rec := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		return nil, &run.Error{Line: c.Line(), ExitCode: 1, Err: errors.New("exit status 1")} // no image exists
	}}
	dry := &run.DryRun{Out: &strings.Builder{}, Query: rec}
	rt, err := providers.New("docker", dry)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	var out strings.Builder
	res, err := Build(context.Background(), Options{Runtimes: []*providers.Runtime{rt}, CacheDir: cache, DryRun: true, Runner: dry, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.CacheHit {
		t.Error("cache hit with no image")
	}
	n := len(StepNames())
	for _, want := range []string{fmt.Sprintf("[1/%d] base rootfs (debootstrap bookworm): would run", n), fmt.Sprintf("[%d/%d] tag: would run", n, n), "nothing written to " + cache} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("the dry run created %s (%v)", cache, err)
	}
	for _, c := range rec.Calls() {
		if !c.ReadOnly {
			t.Errorf("ran a command that changes something: %s", c.Line())
		}
	}
}
