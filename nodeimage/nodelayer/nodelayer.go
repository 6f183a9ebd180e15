// Package nodelayer makes the node image's top layer: kinc's node files,
// the node binaries, the preloaded containerd store and the files saying
// what the image holds, on top of the Debian rootfs.
package nodelayer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// Input is what the layer holds.
type Input struct {
	// Stage is the directory the layer is assembled in; it already holds
	// the containerd store (var/lib/containerd).
	Stage string
	// Dst is the layer file written.
	Dst string
	// Files is kinc's node file tree (its files/ directory).
	Files fs.FS
	// KubeBin holds kubeadm, kubelet and kubectl.
	KubeBin string
	// Etcdctl, when set, is copied to /usr/local/bin.
	Etcdctl string
	// Runtime are containerd's programs (to /usr/local/bin) and runc (to
	// /usr/local/sbin, where runc's own install puts it), binary -> file.
	Runtime map[string]string
	// PauseImage replaces @PAUSE_IMAGE@ in the containerd configuration.
	PauseImage string
	// Images are the preloaded images (contract.ImagesFile).
	Images []string
	// Version is contract.VersionFile's content.
	Version string
}

// Build assembles in.Stage and tars it into in.Dst.
func Build(ctx context.Context, r run.Runner, in Input) (oci.Layer, error) {
	fx := fileop.FS{R: r}
	st := in.Stage
	err := fs.WalkDir(in.Files, "files", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "files"), "/")
		dst := filepath.Join(st, filepath.FromSlash(rel))
		if e.IsDir() {
			return fx.MkdirAll(ctx, dst, 0o755)
		}
		data, err := fs.ReadFile(in.Files, p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") {
			mode = 0o755
		}
		if rel == "etc/containerd/config.toml" {
			data = []byte(strings.ReplaceAll(string(data), "@PAUSE_IMAGE@", in.PauseImage))
		}
		return fx.WriteFile(ctx, dst, data, mode)
	})
	if err != nil {
		return oci.Layer{}, fmt.Errorf("node files: %w", err)
	}
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := fx.CopyFile(ctx, filepath.Join(in.KubeBin, n), filepath.Join(st, "usr/bin", n), 0o755); err != nil {
			return oci.Layer{}, err
		}
	}
	if in.Etcdctl != "" {
		if err := fx.CopyFile(ctx, in.Etcdctl, filepath.Join(st, "usr/local/bin/etcdctl"), 0o755); err != nil {
			return oci.Layer{}, err
		}
	}
	for _, n := range slices.Sorted(maps.Keys(in.Runtime)) {
		dir := "usr/local/bin"
		if n == "runc" {
			dir = "usr/local/sbin"
		}
		if err := fx.CopyFile(ctx, in.Runtime[n], filepath.Join(st, dir, n), 0o755); err != nil {
			return oci.Layer{}, err
		}
	}
	wants := filepath.Join(st, "etc/systemd/system/multi-user.target.wants")
	for _, d := range []string{wants, filepath.Join(st, "etc/kinc"), filepath.Join(st, "etc/kubernetes/manifests"),
		filepath.Join(st, "var/lib/kubelet"), filepath.Join(st, contract.CNIConfDir)} {
		if err := fx.MkdirAll(ctx, d, 0o755); err != nil {
			return oci.Layer{}, err
		}
	}
	// Enabled as `systemctl enable` would: both units are kinc's files.
	for _, u := range []string{"containerd.service", "kubelet.service"} {
		if err := fx.Symlink(ctx, "/lib/systemd/system/"+u, filepath.Join(wants, u)); err != nil {
			return oci.Layer{}, err
		}
	}
	// Masked: a privileged node's /dev/tty1 is the host's, and gettys of
	// several nodes on one tty hang each other up until systemd gives up on
	// the unit and the node reports "degraded".
	if err := fx.Symlink(ctx, "/dev/null", filepath.Join(st, "etc/systemd/system/getty@tty1.service")); err != nil {
		return oci.Layer{}, err
	}
	list := strings.Join(in.Images, "\n") + "\n"
	if err := fx.WriteFile(ctx, filepath.Join(st, contract.ImagesFile), []byte(list), 0o644); err != nil {
		return oci.Layer{}, err
	}
	if err := fx.WriteFile(ctx, filepath.Join(st, contract.VersionFile), []byte(in.Version), 0o644); err != nil {
		return oci.Layer{}, err
	}
	// The layer's directories replace the rootfs' own: they must keep its
	// modes (the store's parents were made 0711).
	var dirs []string
	for _, d := range []string{".", "etc", "usr", "usr/local", "usr/local/bin", "usr/local/sbin", "lib", "var", "var/lib"} {
		dirs = append(dirs, filepath.Join(st, d))
	}
	err = fx.Do(ctx, func() error {
		for _, d := range dirs {
			if err := os.Chmod(d, 0o755); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}, append([]string{"chmod", "755"}, dirs...)...)
	if err != nil {
		return oci.Layer{}, err
	}
	if _, err := r.Run(ctx, run.Cmd{Args: []string{"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", st, "-cf", in.Dst, "."}}); err != nil {
		return oci.Layer{}, err
	}
	var layer oci.Layer
	err = fx.Do(ctx, func() (err error) {
		layer.Path = in.Dst
		layer.DiffID, err = oci.FileDiffID(in.Dst)
		return err
	}, "sha256sum", in.Dst)
	return layer, err
}
