package gobuild

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// The node's container runtime, built from its Go modules: Debian 12's
// containerd 1.6.20 is a line upstream no longer maintains.
const (
	ContainerdVersion = "v2.4.2"
	RuncVersion       = "v1.5.3"
)

// RuntimeInput says which containerd and runc to build.
type RuntimeInput struct {
	// CacheDir holds the generated module go/runtime-<containerd>-<runc>/.
	CacheDir   string
	Containerd string
	Runc       string
	Force      bool
}

// RuntimePrograms are containerd's daemon, its ctr client and its runc shim
// (pure Go, as containerd's own release builds the shim) and runc: cgo and
// statically linked, so that it carries libseccomp (the `seccomp` tag:
// kubelet's RuntimeDefault profile) and needs nothing from the node's libc.
func RuntimePrograms(containerd, runc string) []Program {
	ver := "-X github.com/containerd/containerd/v2/version.Version=" + containerd +
		" -X github.com/containerd/containerd/v2/version.Revision=kinc" +
		" -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2"
	// btrfs needs cgo and the nodes use overlayfs: leave the snapshotters
	// kinc never configures out.
	tags := []string{"no_btrfs", "no_devmapper", "no_zfs"}
	cmd := "github.com/containerd/containerd/v2/cmd/"
	return []Program{
		{Name: "containerd", Package: cmd + "containerd", Ldflags: ver, Tags: tags},
		{Name: "ctr", Package: cmd + "ctr", Ldflags: ver, Tags: tags},
		{Name: "containerd-shim-runc-v2", Package: cmd + "containerd-shim-runc-v2", Ldflags: ver, Tags: tags},
		// runc reads its version from its VERSION file (go:embed); the
		// tags and static flags are those of its Makefile's `static`,
		// without libpathrs (a Rust library Debian 12 does not have).
		{Name: "runc", Package: "github.com/opencontainers/runc", Cgo: true,
			Tags:    []string{"seccomp", "urfave_cli_no_docs", "netgo", "osusergo"},
			Ldflags: "-X main.gitCommit=kinc -extldflags -static"},
	}
}

// Runtime builds RuntimePrograms, containerd's and runc's each in a
// generated module of its own ($CacheDir/go/containerd-<v>/, runc-<v>/:
// neither's requirements raise the other's), once; it returns binary -> path.
func Runtime(ctx context.Context, r run.Runner, out io.Writer, in RuntimeInput) (map[string]string, error) {
	mods := []struct{ path, version, dir, hint string }{
		{"github.com/containerd/containerd/v2", in.Containerd, "containerd-" + in.Containerd, ""},
		// The usual cause of a failed runc build is a host without them.
		{"github.com/opencontainers/runc", in.Runc, "runc-" + in.Runc, " (runc needs gcc and libseccomp-dev: apt-get install gcc libseccomp-dev)"},
	}
	fmt.Fprintf(out, "      containerd %s (containerd, ctr, containerd-shim-runc-v2), runc %s (cgo, libseccomp, static)\n", in.Containerd, in.Runc)
	bins := map[string]string{}
	for _, m := range mods {
		var progs []Program
		for _, p := range RuntimePrograms(in.Containerd, in.Runc) {
			if strings.HasPrefix(p.Package, m.path) {
				progs = append(progs, p)
			}
		}
		gomod := fmt.Sprintf("module kinc.local/%sbuild\n\ngo 1.26\n\nrequire %s %s\n", strings.SplitN(m.dir, "-", 2)[0], m.path, m.version)
		got, err := Build(ctx, r, filepath.Join(in.CacheDir, "go", m.dir), gomod, progs, in.Force)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w%s", m.path, m.version, err, m.hint)
		}
		for k, v := range got {
			bins[k] = v
		}
	}
	return bins, nil
}
