package gobuild

import (
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

// KubeTreeInput is a local Kubernetes checkout to build the node's
// Kubernetes from (a developer's own change), instead of the module.
type KubeTreeInput struct {
	Root    string // the checkout: its go.mod is module k8s.io/kubernetes
	Version string // vX.Y.Z stamped into the binaries (kubeadm checks kubelet's)
	OutDir  string // where the binaries go
}

// CheckKubeTree says whether root is a Kubernetes checkout.
func CheckKubeTree(root string) error {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return fmt.Errorf("--kube-root %s is not a Kubernetes checkout: %w", root, err)
	}
	if !regexp.MustCompile(`(?m)^module k8s\.io/kubernetes\s*$`).Match(data) {
		return fmt.Errorf("--kube-root %s is not a Kubernetes checkout: its go.mod is not module k8s.io/kubernetes", root)
	}
	return nil
}

// KubeTreeVersion reads the release a checkout is at from git (the newest
// tag reachable, e.g. v1.36.0-alpha.1 gives v1.36.0).
func KubeTreeVersion(ctx context.Context, r run.Runner, root string) (string, error) {
	out, err := r.Run(ctx, run.Cmd{Args: []string{"git", "-C", root, "describe", "--tags", "--abbrev=0", "--match", "v*"}, ReadOnly: true})
	if err != nil {
		return "", fmt.Errorf("--kube-root %s: no version from git (give --kubernetes-version): %w", root, err)
	}
	tag := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`^v\d+\.\d+\.\d+`).FindString(tag)
	if m == "" {
		return "", fmt.Errorf("--kube-root %s: git's tag %q is no version (give --kubernetes-version)", root, tag)
	}
	return m, nil
}

// KubeTree builds KubeBinaries() from the checkout into in.OutDir, every
// time: the tree may have changed, and the Go build cache makes an
// unchanged tree's build a relink.
func KubeTree(ctx context.Context, r run.Runner, out io.Writer, in KubeTreeInput) error {
	if err := CheckKubeTree(in.Root); err != nil {
		return err
	}
	fx := fileop.FS{R: r}
	if err := fx.MkdirAll(ctx, in.OutDir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "      go build %s in %s (stamped %s)\n", strings.Join(KubeBinaries(), " "), in.Root, in.Version)
	// The checkout's own go.mod, go.work and vendor/ decide the
	// dependencies, as in its own build: no -mod=mod.
	cmd := run.Cmd{Args: append([]string{"env", "CGO_ENABLED=0", "go", "-C", in.Root}, kubeBuildArgs(in.Version, in.OutDir, "./cmd/")...)}
	if _, err := r.Run(ctx, cmd); err != nil {
		return fmt.Errorf("build Kubernetes from %s: %w", in.Root, err)
	}
	return nil
}
