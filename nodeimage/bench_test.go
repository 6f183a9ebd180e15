//go:build bench

package nodeimage_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// BenchmarkNodeImage reports a cold build (--force: everything rebuilt and
// reloaded; the Go build cache and the cached debootstrap rootfs are reused)
// and a cache hit. Run with -benchtime 1x.
func BenchmarkNodeImage(b *testing.B) {
	ctx := context.Background()
	var rts []*providers.Runtime
	for _, n := range []string{"docker", "podman"} {
		rt, err := providers.New(n, &run.Exec{})
		if err != nil {
			b.Fatal(err)
		}
		rts = append(rts, rt)
	}
	for i := 0; i < b.N; i++ {
		opts := nodeimage.Options{Runtimes: rts, Runner: &run.Exec{}, Out: os.Stderr, Force: true}
		start := time.Now()
		if _, err := nodeimage.Build(ctx, opts); err != nil {
			b.Fatal(err)
		}
		cold := time.Since(start)
		opts.Force = false
		start = time.Now()
		res, err := nodeimage.Build(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !res.CacheHit {
			b.Fatal("second build was not a cache hit")
		}
		hit := time.Since(start)
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(hit.Seconds(), "cachehit-s")
		b.Logf("cold build (--force, Go build cache and debootstrap cache reused): %s; cache hit: %s", cold.Round(time.Second), hit.Round(time.Millisecond))
	}
}
