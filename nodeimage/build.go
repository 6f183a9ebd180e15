package nodeimage

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

// Options configure a node image build.
type Options struct {
	// KubernetesVersion such as v1.34.4 (default DefaultKubernetesVersion).
	KubernetesVersion string
	// Image overrides the image name (default: Inputs.ImageName()).
	Image string
	// Runtimes receive the images (at least one).
	Runtimes []*providers.Runtime
	// KubeBinDir holds prebuilt Kubernetes binaries instead of building them.
	KubeBinDir string
	// Force rebuilds even when the image exists (the Go build cache and the
	// cached base rootfs are still used).
	Force bool
	// CacheDir (default CacheDir()).
	CacheDir string
	// DryRun checks the cache (read-only) and prints the steps a build
	// would run, writing nothing: no cache directory, marker or image.
	DryRun bool
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

type builder struct {
	o      Options
	in     Inputs
	image  string
	work   string
	step   int
	steps  int
	tmpTag map[*providers.Runtime][]string
	// produced along the way
	rootfs     string
	baseLayer  Layer
	kubeBin    string
	kubeSrc    string
	comps      []Component
	compBin    map[string]string // binary name -> path
	addonBin   map[string]string
	compBase   Layer
	nodeImages []Image
	lbImages   []Image
}

// Build builds the node image and loads it into every runtime.
func Build(ctx context.Context, o Options) (res *Result, err error) {
	start := time.Now()
	if o.KubernetesVersion == "" {
		o.KubernetesVersion = DefaultKubernetesVersion
	}
	if !semver.MatchString(o.KubernetesVersion) {
		return nil, fmt.Errorf("kubernetes version %q is not of the form vX.Y.Z", o.KubernetesVersion)
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
	b := &builder{o: o, in: DefaultInputs(o.KubernetesVersion), tmpTag: map[*providers.Runtime][]string{},
		compBin: map[string]string{}, addonBin: map[string]string{}, steps: 10}
	if o.KubeBinDir != "" {
		if b.in.KubeBinaries, err = hashBinaries(o.KubeBinDir); err != nil {
			return nil, fmt.Errorf("--kube-bin-dir: %w", err)
		}
	}
	b.image = o.Image
	if b.image == "" {
		b.image = b.in.ImageName()
	}
	res = &Result{Image: b.image}
	for _, a := range AddonNames() {
		if RuntimeAddons[a] {
			res.RuntimeImages = append(res.RuntimeImages, AddonImage(a))
		}
	}
	fmt.Fprintf(o.Out, "Building node image %s (Kubernetes %s)\n", b.image, o.KubernetesVersion)
	if !o.Force {
		hit, err := b.cached(ctx, res.RuntimeImages)
		if err != nil {
			return nil, err
		}
		if hit {
			res.CacheHit, res.Duration = true, time.Since(start)
			fmt.Fprintf(o.Out, "Image %s already present in %s: cache hit (%s); use --force to rebuild\n", b.image, b.runtimeNames(), res.Duration.Round(time.Millisecond))
			return res, nil
		}
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"base rootfs (debootstrap " + DebianSuite + ")", b.baseRootfs},
		{"kubernetes binaries", b.kubernetes},
		{"component list (kubeadm config images list)", b.imageList},
		{"etcd, coredns and pause", b.extraComponents},
		{"addons", b.addons},
		{"component and addon images", b.componentImages},
		{"node containerd store (ctr images import)", b.containerdStore},
		{"node layer", b.nodeLayer},
		{"load into " + b.runtimeNames(), b.load},
		{"tag", b.tag},
	}
	if o.DryRun {
		for i, s := range steps {
			fmt.Fprintf(o.Out, "[%d/%d] %s: would run (dry run)\n", i+1, len(steps), s.name)
		}
		fmt.Fprintf(o.Out, "Dry run: nothing built, nothing written to %s\n", o.CacheDir)
		return res, nil
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	if err := checkDiskSpace(o.CacheDir); err != nil {
		return nil, err
	}
	if b.work, err = os.MkdirTemp(o.CacheDir, "build-"); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	defer func() {
		if err != nil {
			b.cleanupTags(false)
		}
		os.RemoveAll(b.work)
	}()
	for _, s := range steps {
		if err := b.run(ctx, s.name, s.fn); err != nil {
			return nil, err
		}
	}
	for _, img := range b.nodeImages {
		res.NodeImages = append(res.NodeImages, img.Name)
	}
	res.Duration = time.Since(start)
	fmt.Fprintf(o.Out, "Built %s in %s\n", b.image, res.Duration.Round(time.Second))
	return res, nil
}

func (b *builder) run(ctx context.Context, name string, fn func(context.Context) error) error {
	b.step++
	fmt.Fprintf(b.o.Out, "[%d/%d] %s ...\n", b.step, b.steps, name)
	t := time.Now()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("step %d/%d %s: %w", b.step, b.steps, name, err)
	}
	if err := fn(ctx); err != nil {
		return fmt.Errorf("step %d/%d %s: %w", b.step, b.steps, name, explainDiskFull(err, b.o.CacheDir))
	}
	fmt.Fprintf(b.o.Out, "[%d/%d] %s: done in %s\n", b.step, b.steps, name, time.Since(t).Round(100*time.Millisecond))
	return nil
}

func (b *builder) runtimeNames() string {
	var n []string
	for _, rt := range b.o.Runtimes {
		n = append(n, rt.Name())
	}
	return strings.Join(n, ", ")
}

func (b *builder) cached(ctx context.Context, extra []string) (bool, error) {
	for _, rt := range b.o.Runtimes {
		for _, img := range append([]string{b.image}, extra...) {
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

func hashBinaries(dir string) (map[string]string, error) {
	m := map[string]string{}
	for _, n := range KubeBinaries {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		m[n] = hex.EncodeToString(h.Sum(nil))
	}
	return m, nil
}

func fileDiffID(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// DebianMirror is the first URI apt on this host uses for suite, else deb.debian.org.
func DebianMirror(suite string) string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(data), "\n\n") {
			fields := map[string]string{}
			for _, l := range strings.Split(stanza, "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
					fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
				}
			}
			if slices.Contains(strings.Fields(fields["suites"]), suite) && slices.Contains(strings.Fields(fields["types"]), "deb") {
				if uris := strings.Fields(fields["uris"]); len(uris) > 0 {
					return uris[0]
				}
			}
		}
	}
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, f := range append([]string{"/etc/apt/sources.list"}, lists...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			fs := strings.Fields(l)
			// deb [opts] URI suite components...
			if len(fs) >= 3 && fs[0] == "deb" {
				i := 1
				if strings.HasPrefix(fs[1], "[") {
					for i < len(fs) && !strings.HasSuffix(fs[i], "]") {
						i++
					}
					i++
				}
				if i+1 < len(fs) && fs[i+1] == suite {
					return fs[i]
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// baseRootfs debootstraps (once per package list and mirror) and tars the rootfs.
func (b *builder) baseRootfs(ctx context.Context) error {
	mirror := DebianMirror(b.in.Suite)
	d, sum := newDigester()
	// Not the whole recipe: a change to later steps must not redo the
	// (slow) debootstrap.
	d.add("recipe", rootfsRecipe)
	d.add("suite", b.in.Suite, mirror)
	d.add("packages", b.in.Packages...)
	dir := filepath.Join(b.o.CacheDir, "rootfs", sum()[:16])
	b.rootfs = filepath.Join(dir, "rootfs")
	if _, err := os.Stat(filepath.Join(dir, "debootstrap.ok")); err != nil {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			return fmt.Errorf("debootstrap is not installed (apt-get install debootstrap): %w", err)
		}
		os.RemoveAll(dir)
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(b.o.Out, "      debootstrap --variant=minbase %s from %s into %s\n", b.in.Suite, mirror, dir)
		_, err := b.o.Runner.Run(ctx, run.Cmd{Args: []string{"debootstrap", "--variant=minbase",
			"--include=" + strings.Join(b.in.Packages, ","), b.in.Suite, filepath.Join(tmp, "rootfs"), mirror}})
		if err != nil {
			// debootstrap prints a summary ("Couldn't download"); the
			// cause (a full disk, a bad package) is only in its log.
			if log, lerr := os.ReadFile(filepath.Join(tmp, "rootfs", "debootstrap", "debootstrap.log")); lerr == nil {
				err = fmt.Errorf("%w\n  debootstrap.log (tail):\n    %s", err, strings.ReplaceAll(run.Tail(string(log), 5), "\n", "\n    "))
			}
			os.RemoveAll(tmp)
			return err
		}
		for _, g := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log"} {
			m, _ := filepath.Glob(filepath.Join(tmp, "rootfs", g))
			for _, p := range m {
				os.Remove(p)
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, "debootstrap.ok"), []byte(mirror+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(b.o.Out, "      cached in %s\n", dir)
	}
	layer := filepath.Join(dir, "layer.tar")
	idFile := layer + ".diffid"
	if id, err := os.ReadFile(idFile); err == nil {
		b.baseLayer = Layer{Path: layer, DiffID: strings.TrimSpace(string(id))}
		return nil
	}
	tmp := layer + ".tmp"
	_, err := b.o.Runner.Run(ctx, run.Cmd{Args: []string{"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./run/*", "--exclude=./tmp/*",
		"-C", b.rootfs, "-cf", tmp, "."}})
	if err != nil {
		os.Remove(tmp)
		return err
	}
	id, err := fileDiffID(tmp)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, layer); err != nil {
		return err
	}
	b.baseLayer = Layer{Path: layer, DiffID: id}
	return os.WriteFile(idFile, []byte(id+"\n"), 0o644)
}

func (b *builder) kubernetes(ctx context.Context) error {
	v := b.o.KubernetesVersion
	modDir := filepath.Join(b.o.CacheDir, "go", "kubernetes-"+v)
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return err
	}
	info, err := downloadModule(ctx, b.o.Runner, modDir, "k8s.io/kubernetes@"+v)
	if err != nil {
		return err
	}
	b.kubeSrc = info.Dir
	if b.o.KubeBinDir != "" {
		b.kubeBin = b.o.KubeBinDir
		fmt.Fprintf(b.o.Out, "      using binaries from %s\n", b.kubeBin)
		return nil
	}
	goMod, err := os.ReadFile(info.GoMod)
	if err != nil {
		return err
	}
	mod, err := kubeModule(goMod, v)
	if err != nil {
		return err
	}
	if err := writeModule(modDir, mod); err != nil {
		return err
	}
	b.kubeBin = filepath.Join(modDir, "out")
	stamp := filepath.Join(b.kubeBin, ".built")
	if !b.o.Force && allExist(b.kubeBin, append([]string{".built"}, KubeBinaries...)...) {
		fmt.Fprintf(b.o.Out, "      binaries cached in %s\n", b.kubeBin)
		return nil
	}
	os.Remove(stamp)
	var pkgs []string
	for _, n := range KubeBinaries {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+n)
	}
	fmt.Fprintf(b.o.Out, "      go build %s (cold: several minutes; the Go build cache makes rebuilds fast)\n", strings.Join(KubeBinaries, " "))
	args := append([]string{"build", "-trimpath", "-ldflags", kubeLdflags(v), "-o", b.kubeBin + "/"}, pkgs...)
	if _, err := b.o.Runner.Run(ctx, goCmd(modDir, args...)); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(v+"\n"), 0o644)
}

func (b *builder) imageList(ctx context.Context) error {
	out, err := b.o.Runner.Run(ctx, run.Cmd{Args: []string{filepath.Join(b.kubeBin, "kubeadm"), "config", "images", "list",
		"--kubernetes-version", b.o.KubernetesVersion}})
	if err != nil {
		return err
	}
	b.comps, err = ParseImageList(string(out))
	if err != nil {
		return err
	}
	for _, c := range b.comps {
		fmt.Fprintf(b.o.Out, "      %s\n", c.Image)
		if c.Kind == "kube" {
			b.compBin[c.Binary] = filepath.Join(b.kubeBin, c.Binary)
		}
	}
	return nil
}

func (b *builder) goBuild(ctx context.Context, name, gomod string, outputs map[string]string) error {
	modDir := filepath.Join(b.o.CacheDir, "go", name)
	if err := writeModule(modDir, gomod); err != nil {
		return err
	}
	outDir := filepath.Join(modDir, "out")
	for bin, pkg := range outputs {
		dst := filepath.Join(outDir, bin)
		if _, err := os.Stat(dst); err != nil || b.o.Force {
			if _, err := b.o.Runner.Run(ctx, goCmd(modDir, "build", "-trimpath", "-ldflags", "-s -w", "-o", dst+".tmp", pkg)); err != nil {
				return err
			}
			if err := os.Rename(dst+".tmp", dst); err != nil {
				return err
			}
		}
		b.compBin[bin] = dst
	}
	return nil
}

func (b *builder) extraComponents(ctx context.Context) error {
	for _, c := range b.comps {
		switch c.Kind {
		case "etcd":
			mod := fmt.Sprintf("module kinc.local/etcdbuild\n\ngo 1.24\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n", c.Version, c.Version)
			if err := b.goBuild(ctx, "etcd-"+c.Version, mod, map[string]string{"etcd": "go.etcd.io/etcd/server/v3", "etcdctl": "go.etcd.io/etcd/etcdctl/v3"}); err != nil {
				return fmt.Errorf("etcd %s: %w", c.Version, err)
			}
		case "coredns":
			mod := fmt.Sprintf("module kinc.local/corednsbuild\n\ngo 1.24\n\nrequire github.com/coredns/coredns %s\n", c.Version)
			if err := b.goBuild(ctx, "coredns-"+c.Version, mod, map[string]string{"coredns": "github.com/coredns/coredns"}); err != nil {
				return fmt.Errorf("coredns %s: %w", c.Version, err)
			}
		case "pause":
			dst := filepath.Join(b.work, "pause")
			src := filepath.Join(b.kubeSrc, "build", "pause", "linux", "pause.c")
			if _, err := b.o.Runner.Run(ctx, run.Cmd{Args: []string{"gcc", "-Os", "-Wall", "-Werror", "-static", "-s",
				"-DVERSION=" + c.Version, "-o", dst, src}}); err != nil {
				return fmt.Errorf("pause %s: %w", c.Version, err)
			}
			b.compBin["pause"] = dst
		}
	}
	return nil
}

func (b *builder) addons(ctx context.Context) error {
	names := addonNames(b.in.AddonFiles)
	if len(names) == 0 {
		fmt.Fprintln(b.o.Out, "      no addon sources embedded")
		return nil
	}
	dir := filepath.Join(b.work, "addons")
	err := fs.WalkDir(b.in.AddonFiles, "addons", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		data, err := fs.ReadFile(b.in.AddonFiles, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(b.work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return err
	}
	// The module path is the add-ons' own in kinc's tree, so that their
	// import of the shared addons/internal packages resolves here too.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+addonModule+"\n\ngo 1.22\n"), 0o644); err != nil {
		return err
	}
	for _, n := range names {
		dst := filepath.Join(b.work, "addon-bin", n)
		if _, err := b.o.Runner.Run(ctx, goCmd(dir, "build", "-trimpath", "-ldflags", "-s -w", "-o", dst, "./"+n)); err != nil {
			return fmt.Errorf("addon %s: %w", n, err)
		}
		b.addonBin[n] = dst
	}
	fmt.Fprintf(b.o.Out, "      built %s\n", strings.Join(names, ", "))
	return nil
}

// packageClosure lists pkgs and everything they depend on, per the rootfs' dpkg database.
func (b *builder) packageClosure(ctx context.Context, pkgs []string) ([]string, error) {
	admin := "--admindir=" + filepath.Join(b.rootfs, "var/lib/dpkg")
	out, err := b.o.Runner.Run(ctx, run.Cmd{Args: []string{"dpkg-query", admin, "-W", "-f", "${Package}\t${Pre-Depends}, ${Depends}\n"}})
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), "\t")
		for _, alt := range strings.Split(rest, ",") {
			// "a (>= 1) | b": take the first alternative that is installed (checked below).
			for _, choice := range strings.Split(alt, "|") {
				f := strings.Fields(choice)
				if len(f) > 0 {
					deps[name] = append(deps[name], strings.Split(f[0], ":")[0])
					break
				}
			}
		}
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		if seen[p] {
			return
		}
		if _, installed := deps[p]; !installed {
			return
		}
		seen[p] = true
		for _, d := range deps[p] {
			walk(d)
		}
	}
	for _, p := range pkgs {
		walk(p)
	}
	var res []string
	for p := range seen {
		res = append(res, p)
	}
	return res, nil
}

// componentBase is the layer every component and addon image shares:
// standard directories, users, CA certificates and iptables/iproute2/conntrack
// with their libraries, taken from the node's own rootfs.
func (b *builder) componentBase(ctx context.Context) error {
	pkgs, err := b.packageClosure(ctx, ComponentBasePackages)
	if err != nil {
		return err
	}
	admin := "--admindir=" + filepath.Join(b.rootfs, "var/lib/dpkg")
	out, err := b.o.Runner.Run(ctx, run.Cmd{Args: append([]string{"dpkg-query", admin, "-L"}, pkgs...)})
	if err != nil {
		return err
	}
	var files []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "/usr/share/doc") || strings.HasPrefix(l, "/usr/share/man") ||
			strings.HasPrefix(l, "/usr/share/lintian") || strings.HasPrefix(l, "/usr/share/locale") {
			continue
		}
		files = append(files, l)
	}
	lw, err := NewLayerWriter(filepath.Join(b.work, "component-base.tar"))
	if err != nil {
		return err
	}
	for _, d := range []struct {
		p    string
		mode int64
	}{{"proc", 0o555}, {"sys/fs/cgroup", 0o755}, {"dev", 0o755}, {"tmp", 0o1777}, {"run", 0o755}, {"etc", 0o755},
		{"var/lib", 0o755}, {"var/log", 0o755}, {"root", 0o700}, {"home", 0o755}, {"usr/local/bin", 0o755}} {
		if err := lw.Dir(d.p, d.mode); err != nil {
			return err
		}
	}
	// Merged /usr: keep the /bin, /lib... symlinks of the rootfs.
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		if err := lw.CopyFrom(b.rootfs, l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := lw.Symlink("var/run", "/run"); err != nil {
		return err
	}
	for _, f := range []struct{ p, data string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
		{"etc/nsswitch.conf", "hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n"},
	} {
		if err := lw.File(f.p, 0o644, []byte(f.data)); err != nil {
			return err
		}
	}
	for _, f := range files {
		// dpkg paths may go through the merged-/usr symlinks (/lib64 -> usr/lib64).
		dir, err := filepath.EvalSymlinks(filepath.Join(b.rootfs, path.Dir(f)))
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(b.rootfs, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if err := lw.CopyFrom(b.rootfs, path.Join(filepath.ToSlash(rel), path.Base(f))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// update-alternatives links (iptables -> /etc/alternatives/iptables ->
	// iptables-nft): dpkg owns neither the command link nor the alternative,
	// so copy both where the target made it into the layer.
	alts, _ := filepath.Glob(filepath.Join(b.rootfs, "etc/alternatives/*"))
	chosen := map[string]bool{}
	for _, a := range alts {
		t, err := os.Readlink(a)
		if err != nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(b.rootfs, t)); err == nil && lw.seen[cleanName(t)] {
			if err := lw.CopyFrom(b.rootfs, "etc/alternatives/"+filepath.Base(a)); err != nil {
				return err
			}
			chosen["/etc/alternatives/"+filepath.Base(a)] = true
		}
	}
	for _, dir := range []string{"usr/sbin", "usr/bin"} {
		links, _ := os.ReadDir(filepath.Join(b.rootfs, dir))
		for _, l := range links {
			t, err := os.Readlink(filepath.Join(b.rootfs, dir, l.Name()))
			if err == nil && chosen[t] {
				if err := lw.CopyFrom(b.rootfs, path.Join(dir, l.Name())); err != nil {
					return err
				}
			}
		}
	}
	if err := lw.CopyFrom(b.rootfs, "etc/ssl/certs/ca-certificates.crt"); err != nil {
		return err
	}
	b.compBase, err = lw.Close()
	return err
}

func (b *builder) binaryLayer(name, src, dst string) (Layer, error) {
	lw, err := NewLayerWriter(filepath.Join(b.work, "layer-"+name+".tar"))
	if err != nil {
		return Layer{}, err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return Layer{}, err
	}
	if err := lw.File(dst, 0o755, data); err != nil {
		return Layer{}, err
	}
	return lw.Close()
}

func (b *builder) componentImages(ctx context.Context) error {
	if err := b.componentBase(ctx); err != nil {
		return err
	}
	for _, c := range b.comps {
		bin, ok := b.compBin[c.Binary]
		if !ok {
			return fmt.Errorf("no binary for %s", c.Image)
		}
		l, err := b.binaryLayer(c.Binary, bin, componentPath(c))
		if err != nil {
			return err
		}
		b.nodeImages = append(b.nodeImages, Image{Name: c.Image, Config: componentConfig(c), Layers: []Layer{b.compBase, l}})
	}
	for _, n := range addonNames(b.in.AddonFiles) {
		p := "/usr/local/bin/" + n
		l, err := b.binaryLayer("addon-"+n, b.addonBin[n], p)
		if err != nil {
			return err
		}
		img := Image{Name: addonImage(b.in.AddonFiles, n), Layers: []Layer{b.compBase, l},
			Config: ImageConfig{Entrypoint: []string{p}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}
		if RuntimeAddons[n] {
			b.lbImages = append(b.lbImages, img)
		} else {
			b.nodeImages = append(b.nodeImages, img)
		}
	}
	return nil
}

func writeArchiveFile(p string, images []Image, gz bool) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if err := WriteArchive(f, images, gz); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (b *builder) stage() string { return filepath.Join(b.work, "node") }

// containerdStore imports every node image into <stage>/var/lib/containerd
// with the host's containerd (own root, state and socket), unpacked for the
// overlayfs snapshotter.
func (b *builder) containerdStore(ctx context.Context) error {
	archive := filepath.Join(b.work, "node-images.tar")
	if err := writeArchiveFile(archive, b.nodeImages, true); err != nil {
		return err
	}
	root := filepath.Join(b.stage(), "var/lib/containerd")
	if err := os.MkdirAll(root, 0o711); err != nil {
		return err
	}
	state, err := os.MkdirTemp("", "kinc-ctrd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	sock := filepath.Join(state, "c.sock")
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, root, filepath.Join(state, "state"), sock, sock+".ttrpc")
	cfgPath := filepath.Join(state, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		// A failure carries the tail of containerd's log (the runner's capture).
		_, err := b.o.Runner.Run(dctx, run.Cmd{Args: []string{"containerd", "--config", cfgPath}})
		done <- err
	}()
	defer func() { stop(); <-done }()
	ctr := func(args ...string) run.Cmd {
		return run.Cmd{Args: append([]string{"ctr", "--address", sock}, args...)}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := b.o.Runner.Run(ctx, ctr("version")); err == nil {
			break
		}
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("containerd exited: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("containerd did not answer within 30s")
		}
	}
	if _, err := b.o.Runner.Run(ctx, ctr("-n", ContainerdNamespace, "images", "import", "--snapshotter", "overlayfs", archive)); err != nil {
		return err
	}
	out, err := b.o.Runner.Run(ctx, ctr("-n", ContainerdNamespace, "images", "ls", "-q"))
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		have[l] = true
	}
	for _, img := range b.nodeImages {
		name := img.Name
		if !strings.Contains(strings.Split(name, "/")[0], ".") {
			name = "docker.io/" + name
		}
		if !have[img.Name] && !have[name] {
			return fmt.Errorf("image %s missing from the containerd store after import (have %v)", img.Name, strings.Fields(string(out)))
		}
	}
	if err := discardUnpackedLayers(ctx, b.o.Runner, ctr, root); err != nil {
		return err
	}
	return os.Remove(archive)
}

// discardUnpackedLayers deletes the compressed layer blobs (the blobs
// containerd labels with their uncompressed digest) once the images are
// unpacked: containers run from the snapshots, and every node would
// otherwise copy them into its containerd volume at start. This is what
// containerd's own discard_unpacked_layers does for pulled images.
func discardUnpackedLayers(ctx context.Context, r run.Runner, ctr func(args ...string) run.Cmd, root string) error {
	out, err := r.Run(ctx, ctr("-n", ContainerdNamespace, "content", "ls"))
	if err != nil {
		return err
	}
	var layers []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "sha256:") && strings.Contains(l, "containerd.io/uncompressed=") {
			layers = append(layers, f[0])
		}
	}
	if len(layers) == 0 {
		return errors.New("no compressed layer blobs in the containerd store after import")
	}
	if _, err := r.Run(ctx, ctr(append([]string{"-n", ContainerdNamespace, "content", "rm"}, layers...)...)); err != nil {
		return err
	}
	// content rm forgets the blobs; their files go only when containerd's
	// garbage collector runs, which the short-lived build daemon may never
	// do (and a node's would do at its first start). Nothing refers to
	// them any more: remove them now.
	for _, l := range layers {
		blob := filepath.Join(root, "io.containerd.content.v1.content", "blobs", "sha256", strings.TrimPrefix(l, "sha256:"))
		if err := os.Remove(blob); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (b *builder) pauseImage() string {
	for _, c := range b.comps {
		if c.Kind == "pause" {
			return c.Image
		}
	}
	return ""
}

// nodeLayer writes kinc's node files, the node binaries and the containerd
// store into one layer on top of the Debian rootfs.
func (b *builder) nodeLayer(ctx context.Context) error {
	st := b.stage()
	err := fs.WalkDir(nodeFiles, "files", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "files"), "/")
		dst := filepath.Join(st, filepath.FromSlash(rel))
		if e.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(nodeFiles, p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") {
			mode = 0o755
		}
		if rel == "etc/containerd/config.toml" {
			data = []byte(strings.ReplaceAll(string(data), "@PAUSE_IMAGE@", b.pauseImage()))
		}
		return os.WriteFile(dst, data, mode)
	})
	if err != nil {
		return err
	}
	copyBin := func(src, dst string) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o755)
	}
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := copyBin(filepath.Join(b.kubeBin, n), filepath.Join(st, "usr/bin", n)); err != nil {
			return err
		}
	}
	if p, ok := b.compBin["etcdctl"]; ok {
		if err := copyBin(p, filepath.Join(st, "usr/local/bin/etcdctl")); err != nil {
			return err
		}
	}
	wants := filepath.Join(st, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/lib/systemd/system/kubelet.service", filepath.Join(wants, "kubelet.service")); err != nil {
		return err
	}
	for _, d := range []string{"etc/kinc", "etc/kubernetes/manifests", "var/lib/kubelet", "etc/cni/net.d"} {
		if err := os.MkdirAll(filepath.Join(st, d), 0o755); err != nil {
			return err
		}
	}
	var list strings.Builder
	for _, img := range b.nodeImages {
		list.WriteString(img.Name + "\n")
	}
	if err := os.WriteFile(filepath.Join(st, "etc/kinc/images"), []byte(list.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(st, "etc/kinc/version"), []byte(fmt.Sprintf("image=%s\nkubernetes=%s\nrecipe=%s\n", b.image, b.o.KubernetesVersion, RecipeVersion)), 0o644); err != nil {
		return err
	}
	for _, d := range []string{".", "etc", "usr", "usr/local", "usr/local/bin", "lib", "var", "var/lib"} {
		os.Chmod(filepath.Join(st, d), 0o755)
	}
	_, err = b.o.Runner.Run(ctx, run.Cmd{Args: []string{"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"-C", st, "-cf", filepath.Join(b.work, "node-layer.tar"), "."}})
	return err
}

func (b *builder) tmpName(name string) string {
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	return fmt.Sprintf("%s:kinc-building-%d", repo, os.Getpid())
}

// load loads the node image (and runtime addons) under temporary names.
func (b *builder) load(ctx context.Context) error {
	nodeLayer := filepath.Join(b.work, "node-layer.tar")
	id, err := fileDiffID(nodeLayer)
	if err != nil {
		return err
	}
	node := Image{Name: b.tmpName(b.image), Layers: []Layer{b.baseLayer, {Path: nodeLayer, DiffID: id}},
		Config: ImageConfig{
			Entrypoint: []string{Entrypoint},
			Env:        []string{"container=docker", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			StopSignal: StopSignal,
			Labels:     map[string]string{"io.kinc.image": "node", "io.kinc.kubernetes-version": b.o.KubernetesVersion},
		}}
	images := []Image{node}
	for _, img := range b.lbImages {
		img.Name = b.tmpName(img.Name)
		images = append(images, img)
	}
	archive := filepath.Join(b.work, "node-image.tar")
	if err := writeArchiveFile(archive, images, false); err != nil {
		return err
	}
	for _, rt := range b.o.Runtimes {
		for _, img := range images {
			b.tmpTag[rt] = append(b.tmpTag[rt], img.Name)
		}
		if err := rt.LoadImage(ctx, archive); err != nil {
			return fmt.Errorf("%s load: %w", rt.Name(), err)
		}
	}
	return nil
}

// tag gives the loaded images their final names and drops the temporary ones.
func (b *builder) tag(ctx context.Context) error {
	final := map[string]string{b.tmpName(b.image): b.image}
	for _, img := range b.lbImages {
		final[b.tmpName(img.Name)] = img.Name
	}
	for _, rt := range b.o.Runtimes {
		for _, tmp := range b.tmpTag[rt] {
			previous, err := rt.ImageID(ctx, final[tmp])
			if err != nil {
				return fmt.Errorf("%s: %w", rt.Name(), err)
			}
			if err := rt.TagImage(ctx, tmp, final[tmp]); err != nil {
				return fmt.Errorf("%s: %w", rt.Name(), err)
			}
			fmt.Fprintf(b.o.Out, "      %s: %s\n", rt.Name(), final[tmp])
			// A forced rebuild moves the name: drop the image it leaves
			// nameless (unless a container still uses it).
			if current, err := rt.ImageID(ctx, final[tmp]); err == nil && previous != "" && previous != current {
				_ = rt.RemoveUnusedImage(ctx, previous)
			}
		}
	}
	b.cleanupTags(true)
	return nil
}

// cleanupTags removes the temporary names (a failed build leaves nothing tagged).
func (b *builder) cleanupTags(success bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for rt, tags := range b.tmpTag {
		for _, t := range tags {
			if success {
				_ = rt.Untag(ctx, t)
			} else {
				_ = rt.RemoveImages(ctx, t)
			}
		}
	}
	b.tmpTag = map[*providers.Runtime][]string{}
}
