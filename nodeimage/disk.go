package nodeimage

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/gobuild"
	"github.com/kinc-dev/kinc/nodeimage/internal/diskcheck"
	"github.com/kinc-dev/kinc/providers/run"
)

// What a cold build writes at most, per place, from `make bench-image`
// (14.4 GiB at the peak, everything together). Warm Go caches take in only
// what changed; the Kubernetes compile is what writes gigabytes.
const (
	// cacheDirSpace: the debootstrap rootfs and its layer, the generated Go
	// modules and their binaries, and the work directory's component
	// archives, node containerd store and image tarballs.
	cacheDirSpace     = 4 * diskcheck.GiB
	goCacheCold       = 5 * diskcheck.GiB
	goCacheWarm       = 1 * diskcheck.GiB
	modCacheCold      = 3 * diskcheck.GiB
	modCacheWarm      = diskcheck.GiB / 2
	runtimeStoreSpace = 2 * diskcheck.GiB
)

// diskNeeds lists every place the build writes and how much. A place that
// cannot be found out (go or a runtime does not answer) is left out: the
// step that writes there fails with its own error.
func diskNeeds(ctx context.Context, o Options, in Inputs) []diskcheck.Need {
	needs := []diskcheck.Need{{What: "kinc cache", Dir: o.CacheDir, Bytes: cacheDirSpace}}
	out, err := o.Runner.Run(ctx, run.Cmd{Args: []string{"go", "env", "GOCACHE", "GOMODCACHE"}, ReadOnly: true})
	if f := strings.Split(strings.TrimSpace(string(out)), "\n"); err == nil && len(f) == 2 {
		goCache, modCache := strings.TrimSpace(f[0]), strings.TrimSpace(f[1])
		// The Kubernetes binaries of this version already built: the Go
		// build cache gets only the addons' small builds.
		built := o.KubeBinDir != "" || gobuild.KubeBuilt(o.CacheDir, in.KubernetesVersion)
		need := uint64(goCacheCold)
		if built && !o.Force {
			need = goCacheWarm
		}
		if filepath.IsAbs(goCache) { // GOCACHE=off writes nothing
			needs = append(needs, diskcheck.Need{What: "GOCACHE", Dir: goCache, Bytes: need})
		}
		// The Kubernetes module downloaded: its dependencies mostly are too.
		need = modCacheCold
		if fileExists(filepath.Join(modCache, "cache", "download", "k8s.io", "kubernetes", "@v", in.KubernetesVersion+".zip")) {
			need = modCacheWarm
		}
		if filepath.IsAbs(modCache) {
			needs = append(needs, diskcheck.Need{What: "GOMODCACHE", Dir: modCache, Bytes: need})
		}
	}
	for _, rt := range o.Runtimes {
		if dir, err := rt.ImageStoreDir(ctx); err == nil {
			needs = append(needs, diskcheck.Need{What: rt.Name() + " image store", Dir: dir, Bytes: runtimeStoreSpace})
		}
	}
	return needs
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
