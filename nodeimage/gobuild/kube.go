package gobuild

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/providers/run"
)

// KubeBinaries are the Kubernetes programs a node image carries.
func KubeBinaries() []string {
	return []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}
}

// ParseVersion splits vX.Y.Z; ok is false for anything else.
func ParseVersion(v string) (major, minor, patch string, ok bool) {
	m := regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`).FindStringSubmatch(v)
	if m == nil {
		return "", "", "", false
	}
	return m[1], m[2], m[3], true
}

// KubeInput says which Kubernetes to build.
type KubeInput struct {
	CacheDir string
	Version  string
	// BinDir, when set, holds prebuilt binaries: only the source (for
	// pause.c) is downloaded.
	BinDir string
	// SrcDir, with BinDir, is a local checkout holding the source: nothing
	// is downloaded.
	SrcDir string
	Force  bool
}

// Kube is where the Kubernetes binaries and the module's source are.
type Kube struct {
	BinDir, SrcDir string
}

// Kubernetes builds KubeBinaries() from k8s.io/kubernetes at in.Version in
// $CacheDir/go/kubernetes-<v>/, once (a .built stamp marks a finished build).
func Kubernetes(ctx context.Context, r run.Runner, out io.Writer, in KubeInput) (Kube, error) {
	if in.SrcDir != "" && in.BinDir != "" {
		fmt.Fprintf(out, "      binaries built from %s\n", in.SrcDir)
		return Kube{SrcDir: in.SrcDir, BinDir: in.BinDir}, nil
	}
	fx := fileop.FS{R: r}
	modDir := kubeModDir(in.CacheDir, in.Version)
	if err := fx.MkdirAll(ctx, modDir, 0o755); err != nil {
		return Kube{}, err
	}
	info, err := Download(ctx, r, modDir, "k8s.io/kubernetes@"+in.Version)
	if err != nil {
		return Kube{}, err
	}
	res := Kube{SrcDir: info.Dir, BinDir: in.BinDir}
	if in.BinDir != "" {
		fmt.Fprintf(out, "      using binaries from %s\n", in.BinDir)
		return res, nil
	}
	goMod, err := os.ReadFile(info.GoMod)
	if err != nil {
		return res, err
	}
	mod, err := kubeModule(goMod, in.Version)
	if err != nil {
		return res, err
	}
	if err := WriteModule(ctx, fx, modDir, mod); err != nil {
		return res, err
	}
	res.BinDir = filepath.Join(modDir, "out")
	stamp := filepath.Join(res.BinDir, builtStamp)
	if !in.Force && allExist(res.BinDir, append([]string{builtStamp}, KubeBinaries()...)...) {
		fmt.Fprintf(out, "      binaries cached in %s\n", res.BinDir)
		return res, nil
	}
	if err := fx.RemoveAll(ctx, stamp); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "      go build %s (cold: several minutes; the Go build cache makes rebuilds fast)\n", strings.Join(KubeBinaries(), " "))
	if _, err := r.Run(ctx, Cmd(modDir, kubeBuildArgs(in.Version, res.BinDir, "k8s.io/kubernetes/cmd/")...)); err != nil {
		return res, err
	}
	return res, fx.WriteFile(ctx, stamp, []byte(in.Version+"\n"), 0o644)
}

// builtStamp, in the binaries' directory, marks a finished build.
const builtStamp = ".built"

// KubeBuilt reports whether Kubernetes at version was built in cacheDir
// by Kubernetes (its stamp is there).
func KubeBuilt(cacheDir, version string) bool {
	_, err := os.Stat(filepath.Join(kubeModDir(cacheDir, version), "out", builtStamp))
	return err == nil
}

// kubeModDir is the generated module that builds Kubernetes at version.
func kubeModDir(cacheDir, version string) string {
	return filepath.Join(cacheDir, "go", "kubernetes-"+version)
}

// stagingReplaces turns k8s.io/kubernetes' own `k8s.io/x => ./staging/...`
// replaces into `k8s.io/x => k8s.io/x v0.<minor>.<patch>`.
func stagingReplaces(kubeGoMod []byte, version string) ([]string, string, error) {
	_, minor, patch, ok := ParseVersion(version)
	if !ok {
		return nil, "", fmt.Errorf("kubernetes version %q is not of the form vX.Y.Z", version)
	}
	staging := fmt.Sprintf("v0.%s.%s", minor, patch)
	var repl []string
	goLine := "go 1.24"
	sc := bufio.NewScanner(strings.NewReader(string(kubeGoMod)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "go ") {
			goLine = l
		}
		l = strings.TrimPrefix(l, "replace ")
		if i := strings.Index(l, "=>"); i > 0 && strings.Contains(l[i:], "./staging/") {
			mod := strings.Fields(l[:i])[0]
			repl = append(repl, fmt.Sprintf("%s => %s %s", mod, mod, staging))
		}
	}
	if len(repl) == 0 {
		return nil, "", fmt.Errorf("k8s.io/kubernetes %s: go.mod has no staging replaces", version)
	}
	return repl, goLine, nil
}

// kubeModule is the go.mod building Kubernetes at version.
func kubeModule(kubeGoMod []byte, version string) (string, error) {
	repl, goLine, err := stagingReplaces(kubeGoMod, version)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("module kinc.local/kubebuild\n\n%s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n\t%s\n)\n",
		goLine, version, strings.Join(repl, "\n\t")), nil
}

// kubeBuildArgs are `go build`'s arguments for KubeBinaries(), each package
// named pkgPrefix+binary, version stamped, into outDir.
func kubeBuildArgs(version, outDir, pkgPrefix string) []string {
	args := []string{"build", "-trimpath", "-ldflags", kubeLdflags(version), "-o", outDir + "/"}
	for _, n := range KubeBinaries() {
		args = append(args, pkgPrefix+n)
	}
	return args
}

// kubeLdflags stamp the version the way Kubernetes' own build does, so
// that kubeadm and kubelet report it (kubeadm refuses an unversioned kubelet).
func kubeLdflags(version string) string {
	major, minor, _, _ := ParseVersion(version)
	var fl []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fl = append(fl, "-X "+pkg+".gitVersion="+version, "-X "+pkg+".gitMajor="+major, "-X "+pkg+".gitMinor="+minor, "-X "+pkg+".gitTreeState=clean")
	}
	return "-s -w " + strings.Join(fl, " ")
}

func allExist(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}
