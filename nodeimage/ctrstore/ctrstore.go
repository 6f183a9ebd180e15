// Package ctrstore fills a node's containerd store at build time: the
// node's own containerd (built in an earlier step), with its own root, state
// and socket, imports the images, unpacked for the overlayfs snapshotter the
// nodes use: the store is written in the format of the containerd that reads it.
package ctrstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// Input is what goes into the store.
type Input struct {
	// Root becomes the node's /var/lib/containerd.
	Root string
	// Work receives the (gzip-layered) archive imported, removed after.
	Work      string
	Namespace string
	Platform  oci.Platform
	Images    []oci.Image
	// Containerd and Ctr are the programs run (the node's).
	Containerd, Ctr string
	// StartTimeout bounds the wait for the daemon's socket.
	StartTimeout time.Duration
}

// Import writes the images into in.Root.
func Import(ctx context.Context, r run.Runner, in Input) error {
	fx := fileop.FS{R: r}
	archive := filepath.Join(in.Work, "node-images.tar")
	err := fx.Do(ctx, func() error { return oci.WriteArchiveFile(archive, in.Platform, in.Images, true) }, "write-archive", archive, "(gzip layers)")
	if err != nil {
		return err
	}
	if err := fx.MkdirAll(ctx, in.Root, 0o711); err != nil {
		return err
	}
	// The socket path must stay short (108 bytes): a temporary directory,
	// not one under a possibly deep cache directory.
	state, err := fx.MkdirTemp(ctx, "", "kinc-ctrd-")
	if err != nil {
		return err
	}
	defer func() { _ = fx.RemoveAll(context.WithoutCancel(ctx), state) }()
	sock := filepath.Join(state, "c.sock")
	cfgPath := filepath.Join(state, "config.toml")
	if err := fx.WriteFile(ctx, cfgPath, []byte(config(in.Root, filepath.Join(state, "state"), sock)), 0o644); err != nil {
		return err
	}
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		// A failure carries the tail of containerd's log (the runner's capture).
		_, err := r.Run(dctx, run.Cmd{Args: []string{in.Containerd, "--config", cfgPath}})
		done <- err
	}()
	defer func() { stop(); <-done }()
	ctr := func(args ...string) run.Cmd {
		return run.Cmd{Args: append([]string{in.Ctr, "--address", sock, "-n", in.Namespace}, args...)}
	}
	if err := waitReady(ctx, r, ctr("version"), done, in.StartTimeout); err != nil {
		return err
	}
	// --local: the client-side import of containerd 1.x (ctr 2.x goes
	// through the transfer service otherwise, naming images differently).
	if _, err := r.Run(ctx, ctr("images", "import", "--local", "--snapshotter", "overlayfs", archive)); err != nil {
		return err
	}
	out, err := r.Run(ctx, ctr("images", "ls", "-q"))
	if err != nil {
		return err
	}
	if err := checkImported(strings.Fields(string(out)), in.Images); err != nil {
		return err
	}
	if err := discardUnpackedLayers(ctx, r, ctr, in.Root); err != nil {
		return err
	}
	return fx.RemoveAll(ctx, archive)
}

// config is containerd 2.x's (version 3), with every plugin that would
// touch the host or is of no use to an import left out: the CRI plugins,
// NRI (its socket is /var/run/nri), the snapshotters the nodes do not use.
func config(root, state, sock string) string {
	disabled := []string{"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
		"io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs"}
	q := make([]string, len(disabled))
	for i, d := range disabled {
		q[i] = fmt.Sprintf("%q", d)
	}
	return fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = [%s]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
`, root, state, strings.Join(q, ", "), sock, sock+".ttrpc")
}

// waitReady polls until the daemon answers, it exits, or timeout passes.
func waitReady(ctx context.Context, r run.Runner, probe run.Cmd, done chan error, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := r.Run(ctx, probe); err == nil {
			return nil
		}
		select {
		case err := <-done:
			done <- err // the deferred stop waits for it too
			return fmt.Errorf("containerd exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer within %s", timeout)
		}
	}
}

// checkImported: `ctr images import` names images docker.io/... when their
// name has no registry.
func checkImported(have []string, images []oci.Image) error {
	got := map[string]bool{}
	for _, h := range have {
		got[h] = true
	}
	for _, img := range images {
		name := img.Name
		if !strings.Contains(strings.Split(name, "/")[0], ".") {
			name = "docker.io/" + name
		}
		if !got[img.Name] && !got[name] {
			return fmt.Errorf("image %s missing from the containerd store after import (have %v)", img.Name, have)
		}
	}
	return nil
}

// discardUnpackedLayers deletes the compressed layer blobs (the blobs
// containerd labels with their uncompressed digest) once the images are
// unpacked: containers run from the snapshots, and every node would
// otherwise copy them into its containerd volume at start. This is what
// containerd's own discard_unpacked_layers does for pulled images.
func discardUnpackedLayers(ctx context.Context, r run.Runner, ctr func(args ...string) run.Cmd, root string) error {
	out, err := r.Run(ctx, ctr("content", "ls"))
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
	if _, err := r.Run(ctx, ctr(append([]string{"content", "rm"}, layers...)...)); err != nil {
		return err
	}
	// content rm forgets the blobs; their files go only when containerd's
	// garbage collector runs, which the short-lived build daemon may never
	// do (and a node's would do at its first start). Nothing refers to
	// them any more: remove them now.
	var blobs []string
	for _, l := range layers {
		blobs = append(blobs, filepath.Join(root, "io.containerd.content.v1.content", "blobs", "sha256", strings.TrimPrefix(l, "sha256:")))
	}
	return fileop.FS{R: r}.RemoveAll(ctx, blobs...)
}
