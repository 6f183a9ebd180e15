package components

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/debian"
	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// BaseLayer writes dst, the layer every component and addon image shares:
// standard directories, users, CA certificates, and pkgs with everything
// they depend on, taken from the node's own rootfs.
func BaseLayer(ctx context.Context, r run.Runner, rootfs, dst string, pkgs []string) (oci.Layer, error) {
	closure, err := debian.Closure(ctx, r, rootfs, pkgs)
	if err != nil {
		return oci.Layer{}, err
	}
	files, err := debian.Files(ctx, r, rootfs, closure)
	if err != nil {
		return oci.Layer{}, err
	}
	var layer oci.Layer
	err = fileop.FS{R: r}.Do(ctx, func() (err error) {
		layer, err = writeBase(rootfs, dst, files)
		return err
	}, "write-layer", dst, "("+strings.Join(closure, " ")+")")
	return layer, err
}

func writeBase(rootfs, dst string, files []string) (oci.Layer, error) {
	lw, err := oci.NewLayerWriter(dst)
	if err != nil {
		return oci.Layer{}, err
	}
	for _, d := range []struct {
		p    string
		mode int64
	}{{"proc", 0o555}, {"sys/fs/cgroup", 0o755}, {"dev", 0o755}, {"tmp", 0o1777}, {"run", 0o755}, {"etc", 0o755},
		{"var/lib", 0o755}, {"var/log", 0o755}, {"root", 0o700}, {"home", 0o755}, {"usr/local/bin", 0o755}} {
		if err := lw.Dir(d.p, d.mode); err != nil {
			return oci.Layer{}, err
		}
	}
	// Merged /usr: keep the /bin, /lib... symlinks of the rootfs.
	for _, l := range []string{"bin", "sbin", "lib", "lib64"} {
		if err := lw.CopyFrom(rootfs, l); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return oci.Layer{}, err
		}
	}
	if err := lw.Symlink("var/run", "/run"); err != nil {
		return oci.Layer{}, err
	}
	for _, f := range []struct{ p, data string }{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n"},
		{"etc/nsswitch.conf", "hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\n"},
	} {
		if err := lw.File(f.p, 0o644, []byte(f.data)); err != nil {
			return oci.Layer{}, err
		}
	}
	for _, f := range files {
		// dpkg paths may go through the merged-/usr symlinks (/lib64 -> usr/lib64).
		dir, err := filepath.EvalSymlinks(filepath.Join(rootfs, path.Dir(f)))
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(rootfs, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if err := lw.CopyFrom(rootfs, path.Join(filepath.ToSlash(rel), path.Base(f))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return oci.Layer{}, err
		}
	}
	if err := copyAlternatives(lw, rootfs); err != nil {
		return oci.Layer{}, err
	}
	if err := lw.CopyFrom(rootfs, "etc/ssl/certs/ca-certificates.crt"); err != nil {
		return oci.Layer{}, err
	}
	return lw.Close()
}

// copyAlternatives copies update-alternatives links (iptables ->
// /etc/alternatives/iptables -> iptables-nft): dpkg owns neither the
// command link nor the alternative, so copy both where the target made it
// into the layer.
func copyAlternatives(lw *oci.LayerWriter, rootfs string) error {
	alts, _ := filepath.Glob(filepath.Join(rootfs, "etc/alternatives/*"))
	chosen := map[string]bool{}
	for _, a := range alts {
		t, err := os.Readlink(a)
		if err != nil {
			continue
		}
		if _, err := os.Lstat(filepath.Join(rootfs, t)); err == nil && lw.Has(t) {
			if err := lw.CopyFrom(rootfs, "etc/alternatives/"+filepath.Base(a)); err != nil {
				return err
			}
			chosen["/etc/alternatives/"+filepath.Base(a)] = true
		}
	}
	for _, dir := range []string{"usr/sbin", "usr/bin"} {
		links, _ := os.ReadDir(filepath.Join(rootfs, dir))
		for _, l := range links {
			t, err := os.Readlink(filepath.Join(rootfs, dir, l.Name()))
			if err == nil && chosen[t] {
				if err := lw.CopyFrom(rootfs, path.Join(dir, l.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
