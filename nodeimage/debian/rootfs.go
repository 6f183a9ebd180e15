package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// RootfsInput says which rootfs to make and where to cache it.
type RootfsInput struct {
	// CacheDir holds rootfs/<key>/ (the rootfs, its layer and markers).
	CacheDir string
	Suite    string
	Mirror   string
	// Arch is Debian's architecture name (Arch(runtime.GOARCH)).
	Arch     string
	Packages []string
	// Recipe changes whenever the way the rootfs is made changes.
	Recipe string
}

// Rootfs is a debootstrapped rootfs and its image layer.
type Rootfs struct {
	Dir   string
	Layer oci.Layer
}

// key names the cache entry: not the whole image recipe, so that a change to
// later steps does not redo the (slow) debootstrap.
func (in RootfsInput) key() string {
	h := sha256.New()
	for _, f := range append([]string{in.Recipe, in.Suite, in.Mirror, in.Arch}, in.Packages...) {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// BuildRootfs debootstraps (once per input) and tars the rootfs (once).
// Markers are written last, so an interrupted run is redone, never half used.
func BuildRootfs(ctx context.Context, r run.Runner, out io.Writer, in RootfsInput) (Rootfs, error) {
	fx := fileop.FS{R: r}
	dir := filepath.Join(in.CacheDir, "rootfs", in.key())
	res := Rootfs{Dir: filepath.Join(dir, "rootfs")}
	if _, err := os.Stat(filepath.Join(dir, "debootstrap.ok")); err == nil {
		fmt.Fprintf(out, "      cached in %s\n", dir)
	} else if err := debootstrap(ctx, r, fx, out, in, dir); err != nil {
		return res, err
	}
	layer, err := tarLayer(ctx, r, fx, res.Dir, filepath.Join(dir, "layer.tar"))
	res.Layer = layer
	return res, err
}

func debootstrap(ctx context.Context, r run.Runner, fx fileop.FS, out io.Writer, in RootfsInput, dir string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("debootstrap is not installed (apt-get install debootstrap): %w", err)
	}
	tmp := dir + ".tmp"
	if err := fx.RemoveAll(ctx, dir, tmp); err != nil {
		return err
	}
	if err := fx.MkdirAll(ctx, tmp, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "      debootstrap --variant=minbase --arch=%s %s from %s into %s\n", in.Arch, in.Suite, in.Mirror, dir)
	rootfs := filepath.Join(tmp, "rootfs")
	_, err := r.Run(ctx, run.Cmd{Args: []string{"debootstrap", "--variant=minbase", "--arch=" + in.Arch,
		"--include=" + strings.Join(in.Packages, ","), in.Suite, rootfs, in.Mirror}})
	if err != nil {
		// debootstrap prints a summary ("Couldn't download"); the cause (a
		// full disk, a bad package) is only in its log.
		if log, lerr := os.ReadFile(filepath.Join(rootfs, "debootstrap", "debootstrap.log")); lerr == nil {
			err = fmt.Errorf("%w\n  debootstrap.log (tail):\n    %s", err, strings.ReplaceAll(run.Tail(string(log), 5), "\n", "\n    "))
		}
		_ = fx.RemoveAll(ctx, tmp)
		return err
	}
	// Downloaded packages, apt lists and logs are not part of a node.
	var junk []string
	for _, g := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log"} {
		m, _ := filepath.Glob(filepath.Join(rootfs, g))
		junk = append(junk, m...)
	}
	if err := fx.RemoveAll(ctx, junk...); err != nil {
		return err
	}
	if err := fx.WriteFile(ctx, filepath.Join(tmp, "debootstrap.ok"), []byte(in.Mirror+"\n"), 0o644); err != nil {
		return err
	}
	return fx.Rename(ctx, tmp, dir)
}

// tarLayer makes the layer of the rootfs, with its diff ID beside it.
func tarLayer(ctx context.Context, r run.Runner, fx fileop.FS, rootfs, layer string) (oci.Layer, error) {
	idFile := layer + ".diffid"
	if id, err := os.ReadFile(idFile); err == nil {
		return oci.Layer{Path: layer, DiffID: strings.TrimSpace(string(id))}, nil
	}
	tmp := layer + ".tmp"
	_, err := r.Run(ctx, run.Cmd{Args: []string{"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./run/*", "--exclude=./tmp/*",
		"-C", rootfs, "-cf", tmp, "."}})
	if err != nil {
		_ = fx.RemoveAll(ctx, tmp)
		return oci.Layer{}, err
	}
	var id string
	err = fx.Do(ctx, func() (err error) {
		id, err = oci.FileDiffID(tmp)
		return err
	}, "sha256sum", tmp)
	if err != nil {
		return oci.Layer{}, err
	}
	if err := fx.Rename(ctx, tmp, layer); err != nil {
		return oci.Layer{}, err
	}
	return oci.Layer{Path: layer, DiffID: id}, fx.WriteFile(ctx, idFile, []byte(id+"\n"), 0o644)
}
