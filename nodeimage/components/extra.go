package components

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kinc-dev/kinc/nodeimage/gobuild"
	"github.com/kinc-dev/kinc/providers/run"
)

// ExtraInput is what building the non-Kubernetes components needs.
type ExtraInput struct {
	// CacheDir holds the generated etcd and coredns modules.
	CacheDir string
	// Work receives pause.
	Work string
	// KubeSrc is the k8s.io/kubernetes module source (build/pause/linux/pause.c).
	KubeSrc string
	Comps   []Component
	Force   bool
}

// BuildExtra builds etcd (and etcdctl) and coredns from their modules and
// pause with gcc, at the versions kubeadm names; it returns binary -> path.
func BuildExtra(ctx context.Context, r run.Runner, in ExtraInput) (map[string]string, error) {
	bins := map[string]string{}
	add := func(m map[string]string) {
		for k, v := range m {
			bins[k] = v
		}
	}
	for _, c := range in.Comps {
		switch c.Kind {
		case "etcd":
			mod := fmt.Sprintf("module kinc.local/etcdbuild\n\ngo 1.24\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n", c.Version, c.Version)
			m, err := gobuild.Programs(ctx, r, filepath.Join(in.CacheDir, "go", "etcd-"+c.Version), mod,
				map[string]string{"etcd": "go.etcd.io/etcd/server/v3", "etcdctl": "go.etcd.io/etcd/etcdctl/v3"}, in.Force)
			if err != nil {
				return nil, fmt.Errorf("etcd %s: %w", c.Version, err)
			}
			add(m)
		case "coredns":
			mod := fmt.Sprintf("module kinc.local/corednsbuild\n\ngo 1.24\n\nrequire github.com/coredns/coredns %s\n", c.Version)
			m, err := gobuild.Programs(ctx, r, filepath.Join(in.CacheDir, "go", "coredns-"+c.Version), mod,
				map[string]string{"coredns": "github.com/coredns/coredns"}, in.Force)
			if err != nil {
				return nil, fmt.Errorf("coredns %s: %w", c.Version, err)
			}
			add(m)
		case "pause":
			// Kubernetes' own pause.c: a static C program, tiny next to Go's.
			dst := filepath.Join(in.Work, "pause")
			src := filepath.Join(in.KubeSrc, "build", "pause", "linux", "pause.c")
			if _, err := r.Run(ctx, run.Cmd{Args: []string{"gcc", "-Os", "-Wall", "-Werror", "-static", "-s",
				"-DVERSION=" + c.Version, "-o", dst, src}}); err != nil {
				return nil, fmt.Errorf("pause %s: %w", c.Version, err)
			}
			bins["pause"] = dst
		}
	}
	return bins, nil
}
