//go:build bench

package nodeimage_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// BenchmarkNodeImage reports a cold build of the default Kubernetes version
// into docker and podman (empty Go build and module caches, no debootstrap
// rootfs: everything downloaded and compiled), the peak disk use on the way,
// then a cache hit. The image gets a name of its own, removed at the end, so
// the default image is left alone. Run with -benchtime 1x.
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
	const image = "kinc-bench/node:cold"
	for i := 0; i < b.N; i++ {
		cold := b.TempDir()
		for k, dir := range map[string]string{"GOCACHE": "gocache", "GOMODCACHE": "gomod"} {
			b.Setenv(k, filepath.Join(cold, dir))
		}
		opts := nodeimage.Options{Image: image, Runtimes: rts, Runner: &run.Exec{}, Out: os.Stderr,
			CacheDir: filepath.Join(cold, "kinc")}
		peak := watchDiskUse(cold)
		start := time.Now()
		_, err := nodeimage.Build(ctx, opts)
		coldTime, peakUse := time.Since(start), peak()
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		res, err := nodeimage.Build(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !res.CacheHit {
			b.Fatal("second build was not a cache hit")
		}
		hit := time.Since(start)
		for _, rt := range rts {
			if err := rt.RemoveImages(ctx, image); err != nil {
				b.Error(err)
			}
		}
		b.ReportMetric(coldTime.Seconds(), "cold-s")
		b.ReportMetric(hit.Seconds(), "cachehit-s")
		b.ReportMetric(float64(peakUse)/(1<<30), "peak-disk-GiB")
		b.Logf("cold build (no Go build or module cache, no debootstrap rootfs): %s; cache hit: %s; peak disk use on %s's filesystem: %.1f GiB",
			coldTime.Round(time.Second), hit.Round(time.Millisecond), cold, float64(peakUse)/(1<<30))
	}
}

// watchDiskUse samples the free space of dir's filesystem every second; the
// returned function stops it and reports the largest drop since the start
// (everything written on that filesystem: caches, work files, the runtimes'
// image stores when they share it).
func watchDiskUse(dir string) func() uint64 {
	free := func() uint64 {
		var st syscall.Statfs_t
		if syscall.Statfs(dir, &st) != nil {
			return 0
		}
		return st.Bavail * uint64(st.Bsize)
	}
	start := free()
	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			if f := free(); f < start {
				mu.Lock()
				peak = max(peak, start-f)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
