package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/gobuild"
	"github.com/kinc-dev/kinc/nodeimage/internal/diskcheck"
	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// Options configure a node image build.
type Options struct {
	// KubernetesVersion such as v1.34.4 (default contract.DefaultKubernetesVersion).
	KubernetesVersion string
	// Image overrides the image name (default: Inputs.ImageName()).
	Image string
	// Runtimes receive the images (at least one).
	Runtimes []*providers.Runtime
	// KubeBinDir holds prebuilt Kubernetes binaries instead of building them.
	KubeBinDir string
	// KubeRoot is a local Kubernetes checkout to build the binaries from
	// (and pause.c), instead of the k8s.io/kubernetes module. With no
	// KubernetesVersion, the version is the checkout's newest git tag.
	KubeRoot string
	// Force rebuilds even when the image exists (the Go build cache and the
	// cached base rootfs are still used).
	Force bool
	// CacheDir (default CacheDir()).
	CacheDir string
	// DryRun checks the cache and the disks (read-only) and prints the
	// steps a build would run, writing nothing: no cache directory, marker
	// or image.
	DryRun bool
	// Runner runs every command and file effect of the build.
	Runner run.Runner
	// Out receives progress lines.
	Out io.Writer
}

// Result describes a finished build.
type Result struct {
	Image    string
	CacheHit bool
	Duration time.Duration
	// NodeImages are the images preloaded in the node's containerd store.
	NodeImages []string
	// RuntimeImages are images loaded into the runtimes besides the node image.
	RuntimeImages []string
}

// CacheDir is $KINC_CACHE_DIR, else <user cache dir>/kinc (~/.cache/kinc).
// It holds the debootstrap rootfs and the Go modules kinc generates; the Go
// build cache is Go's own.
func CacheDir() string {
	if d := os.Getenv("KINC_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "kinc")
	}
	return filepath.Join(os.TempDir(), "kinc-cache")
}

// Build builds the node image and loads it into every runtime.
func Build(ctx context.Context, o Options) (res *Result, err error) {
	start := time.Now()
	if o.Runner == nil {
		return nil, errors.New("no runner for the build's commands")
	}
	if o.KubeRoot != "" && o.KubernetesVersion == "" {
		if o.KubernetesVersion, err = gobuild.KubeTreeVersion(ctx, o.Runner, o.KubeRoot); err != nil {
			return nil, err
		}
	}
	if o.KubernetesVersion == "" {
		o.KubernetesVersion = contract.DefaultKubernetesVersion
	}
	if err := checkVersion(o.KubernetesVersion); err != nil {
		return nil, err
	}
	if o.CacheDir == "" {
		o.CacheDir = CacheDir()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if len(o.Runtimes) == 0 {
		return nil, errors.New("no container runtime to load the node image into")
	}
	if o.KubeRoot != "" {
		if o.KubeBinDir != "" {
			return nil, errors.New("--kube-root and --kube-bin-dir exclude each other: the binaries come from one of them")
		}
		// First: the image's name is a digest of the binaries.
		dir := filepath.Join(o.CacheDir, "go", "kube-root", "out")
		fmt.Fprintf(o.Out, "Kubernetes %s from the checkout %s\n", o.KubernetesVersion, o.KubeRoot)
		if err := gobuild.KubeTree(ctx, o.Runner, o.Out, gobuild.KubeTreeInput{Root: o.KubeRoot, Version: o.KubernetesVersion, OutDir: dir}); err != nil {
			return nil, err
		}
		if o.DryRun && !fileExists(filepath.Join(dir, "kubeadm")) {
			fmt.Fprintf(o.Out, "Dry run: the image's name is a digest of binaries not built yet; nothing built, nothing written\n")
			return &Result{Duration: time.Since(start)}, nil
		}
		o.KubeBinDir = dir
	}
	b, err := newBuild(o)
	if err != nil {
		return nil, err
	}
	res = &Result{Image: b.image}
	for _, a := range AddonNames() {
		if RuntimeAddon(a) {
			res.RuntimeImages = append(res.RuntimeImages, AddonImage(a))
		}
	}
	fmt.Fprintf(o.Out, "Building node image %s (Kubernetes %s)\n", b.image, o.KubernetesVersion)
	if !o.Force {
		hit, err := cached(ctx, o.Runtimes, append([]string{b.image}, res.RuntimeImages...))
		if err != nil {
			return nil, err
		}
		if hit {
			res.CacheHit, res.Duration = true, time.Since(start)
			fmt.Fprintf(o.Out, "Image %s already present in %s: cache hit (%s); use --force to rebuild\n", b.image, runtimeNames(o.Runtimes), res.Duration.Round(time.Millisecond))
			return res, nil
		}
	}
	// Refuse before step 1, not minutes into it (a dry run too: it says
	// what a build would do, and this build would stop here).
	if err := diskcheck.Check(diskNeeds(ctx, o, b.in), diskcheck.Host); err != nil {
		return nil, err
	}
	steps := b.steps()
	if o.DryRun {
		for i, s := range steps {
			fmt.Fprintf(o.Out, "[%d/%d] %s: would run (dry run)\n", i+1, len(steps), s.name)
		}
		fmt.Fprintf(o.Out, "Dry run: nothing built, nothing written to %s\n", o.CacheDir)
		return res, nil
	}
	if err := b.fx.MkdirAll(ctx, o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	if b.work, err = b.fx.MkdirTemp(ctx, o.CacheDir, "build-"); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	defer func() {
		// Even when ctx is cancelled: nothing half-built stays behind.
		cleanup := context.WithoutCancel(ctx)
		if err != nil {
			b.removeTemporaryTags(cleanup)
		}
		_ = b.fx.RemoveAll(cleanup, b.work)
	}()
	for i, s := range steps {
		if err := b.run(ctx, i+1, len(steps), s); err != nil {
			return nil, err
		}
	}
	for _, img := range b.p.images.Node {
		res.NodeImages = append(res.NodeImages, img.Name)
	}
	res.Duration = time.Since(start)
	fmt.Fprintf(o.Out, "Built %s in %s\n", b.image, res.Duration.Round(time.Second))
	return res, nil
}

// run runs step n of total, timed.
func (b *build) run(ctx context.Context, n, total int, s step) error {
	fmt.Fprintf(b.o.Out, "[%d/%d] %s ...\n", n, total, s.name)
	t := time.Now()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("step %d/%d %s: %w", n, total, s.name, err)
	}
	if err := s.run(ctx); err != nil {
		return fmt.Errorf("step %d/%d %s: %w", n, total, s.name, diskcheck.ExplainFull(err, b.o.CacheDir))
	}
	fmt.Fprintf(b.o.Out, "[%d/%d] %s: done in %s\n", n, total, s.name, time.Since(t).Round(100*time.Millisecond))
	return nil
}

func runtimeNames(rts []*providers.Runtime) string {
	if len(rts) == 0 {
		return "the runtimes" // StepNames, with no build
	}
	var n []string
	for _, rt := range rts {
		n = append(n, rt.Name())
	}
	return strings.Join(n, ", ")
}

// cached reports whether every runtime has every image.
func cached(ctx context.Context, rts []*providers.Runtime, images []string) (bool, error) {
	for _, rt := range rts {
		for _, img := range images {
			ok, err := rt.ImageExists(ctx, img)
			if err != nil {
				return false, fmt.Errorf("%s: %w", rt.Name(), err)
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

// hashBinaries are the sha256 of the prebuilt Kubernetes binaries in dir:
// they are inputs of the image instead of the version's source.
func hashBinaries(dir string) (map[string]string, error) {
	m := map[string]string{}
	for _, n := range gobuild.KubeBinaries() {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		m[n] = hex.EncodeToString(h.Sum(nil))
	}
	return m, nil
}

// newBuild fixes the build's inputs: nothing in it changes after this but
// the steps' products.
func newBuild(o Options) (*build, error) {
	b := &build{o: o, in: DefaultInputs(o.KubernetesVersion), fx: fileop.FS{R: o.Runner}}
	if o.KubeBinDir != "" {
		var err error
		if b.in.KubeBinaries, err = hashBinaries(o.KubeBinDir); err != nil {
			return nil, fmt.Errorf("--kube-bin-dir: %w", err)
		}
	}
	b.image = o.Image
	if b.image == "" {
		b.image = b.in.ImageName()
	}
	return b, nil
}
