package components

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

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
			m, err := buildEtcd(ctx, r, in.CacheDir, c.Version, in.Force)
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

const (
	etcdServerModule = "go.etcd.io/etcd/server/v3"
	etcdctlModule    = "go.etcd.io/etcd/etcdctl/v3"
	// etcdctlForOldServers is the etcdctl built beside an etcd server older
	// than 3.6: 3.5's etcdctl needs go.etcd.io/etcd/etcdutl/v3 at its own
	// version, which the module proxy does not serve for v3.5.24, while a
	// 3.6 etcdctl speaks the same v3 API (member list and remove is all
	// kinc's nodes use it for).
	etcdctlForOldServers = "v3.6.5"
)

// EtcdctlVersion is the etcdctl version built for an etcd server version.
func EtcdctlVersion(server string) string {
	if semverLess(server, "v3.6.0") {
		return etcdctlForOldServers
	}
	return server
}

// buildEtcd builds etcd at version and etcdctl at EtcdctlVersion(version):
// in one module when they match, in two otherwise.
func buildEtcd(ctx context.Context, r run.Runner, cacheDir, version string, force bool) (map[string]string, error) {
	ctl := EtcdctlVersion(version)
	if ctl == version {
		mod := fmt.Sprintf("module kinc.local/etcdbuild\n\ngo 1.24\n\nrequire (\n\t%s %s\n\t%s %s\n)\n", etcdServerModule, version, etcdctlModule, version)
		return gobuild.Programs(ctx, r, filepath.Join(cacheDir, "go", "etcd-"+version), mod,
			map[string]string{"etcd": etcdServerModule, "etcdctl": etcdctlModule}, force)
	}
	serverMod := fmt.Sprintf("module kinc.local/etcdbuild\n\ngo 1.24\n\nrequire %s %s\n", etcdServerModule, version)
	bins, err := gobuild.Programs(ctx, r, filepath.Join(cacheDir, "go", "etcd-"+version), serverMod,
		map[string]string{"etcd": etcdServerModule}, force)
	if err != nil {
		return nil, err
	}
	ctlMod := fmt.Sprintf("module kinc.local/etcdctlbuild\n\ngo 1.24\n\nrequire %s %s\n", etcdctlModule, ctl)
	ctlBins, err := gobuild.Programs(ctx, r, filepath.Join(cacheDir, "go", "etcdctl-"+ctl), ctlMod,
		map[string]string{"etcdctl": etcdctlModule}, force)
	if err != nil {
		return nil, fmt.Errorf("etcdctl %s: %w", ctl, err)
	}
	bins["etcdctl"] = ctlBins["etcdctl"]
	return bins, nil
}

// semverLess compares vX.Y.Z versions; anything unparsable sorts as new,
// so an unknown etcd keeps its own etcdctl.
func semverLess(a, b string) bool {
	pa, oka := semverParts(a)
	pb, okb := semverParts(b)
	if !oka || !okb {
		return false
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semverParts(v string) ([3]int, bool) {
	var p [3]int
	major, minor, patch, ok := gobuild.ParseVersion(v)
	if !ok {
		return p, false
	}
	for i, s := range []string{major, minor, patch} {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, false
		}
		p[i] = n
	}
	return p, true
}
