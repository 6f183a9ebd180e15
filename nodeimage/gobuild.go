package nodeimage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// goEnv prefixes every go command: static binaries, -mod=mod so generated
// modules resolve their requirements through the module proxy. These are the
// flags of every kinc build, so the Go build cache is shared between builds.
var goEnv = []string{"env", "CGO_ENABLED=0", "GOFLAGS=-mod=mod"}

// KubeBinaries are the Kubernetes programs a node image carries.
var KubeBinaries = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}

func goCmd(dir string, args ...string) run.Cmd {
	a := append(append([]string{}, goEnv...), "go", "-C", dir)
	return run.Cmd{Args: append(a, args...)}
}

// moduleInfo is `go mod download -json` output.
type moduleInfo struct {
	Path, Version, GoMod, Dir, Error string
}

func downloadModule(ctx context.Context, r run.Runner, dir, mod string) (moduleInfo, error) {
	var info moduleInfo
	out, err := r.Run(ctx, goCmd(dir, "mod", "download", "-json", mod))
	if len(out) > 0 {
		if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
			return info, explainModuleError(ctx, r, mod, fmt.Errorf("go module %s: %s", mod, info.Error))
		}
	}
	if err != nil {
		return info, explainModuleError(ctx, r, mod, fmt.Errorf("go module %s: %w", mod, err))
	}
	if info.Dir == "" || info.GoMod == "" {
		return info, fmt.Errorf("go module %s: go mod download returned no directory", mod)
	}
	return info, nil
}

// explainModuleError puts the likely cause of a failed download first: an
// unreachable module proxy, or a version that does not exist.
func explainModuleError(ctx context.Context, r run.Runner, mod string, err error) error {
	msg := err.Error()
	has := func(subs ...string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(msg, s) })
	}
	switch {
	case has("dial tcp", "connection refused", "no such host", "i/o timeout", "TLS handshake timeout", "network is unreachable"):
		proxy := "?"
		if out, perr := r.Run(ctx, run.Cmd{Args: []string{"go", "env", "GOPROXY"}, ReadOnly: true}); perr == nil {
			proxy = strings.TrimSpace(string(out))
		}
		return fmt.Errorf("the Go module proxy cannot be reached (GOPROXY=%s): %w", proxy, err)
	case has("not available", "unknown revision", "invalid version", "404 Not Found", "410 Gone"):
		return fmt.Errorf("%s does not exist (the module proxy has no such version): %w", mod, err)
	}
	return err
}

var semver = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`)

// stagingReplaces turns k8s.io/kubernetes' own `k8s.io/x => ./staging/...`
// replaces into `k8s.io/x => k8s.io/x v0.<minor>.<patch>`.
func stagingReplaces(kubeGoMod []byte, version string) ([]string, string, error) {
	m := semver.FindStringSubmatch(version)
	if m == nil {
		return nil, "", fmt.Errorf("kubernetes version %q is not of the form vX.Y.Z", version)
	}
	staging := fmt.Sprintf("v0.%s.%s", m[2], m[3])
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

func kubeLdflags(version string) string {
	m := semver.FindStringSubmatch(version)
	var fl []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fl = append(fl, "-X "+pkg+".gitVersion="+version, "-X "+pkg+".gitMajor="+m[1], "-X "+pkg+".gitMinor="+m[2], "-X "+pkg+".gitTreeState=clean")
	}
	return "-s -w " + strings.Join(fl, " ")
}

func writeModule(dir, gomod string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, "go.mod")
	if old, err := os.ReadFile(p); err == nil && string(old) == gomod {
		return nil // keep go.sum
	}
	os.Remove(filepath.Join(dir, "go.sum"))
	return os.WriteFile(p, []byte(gomod), 0o644)
}

func allExist(dir string, names ...string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}
