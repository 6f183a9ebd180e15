package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// ImportImage creates image name from a root filesystem tarball read from r,
// applying Dockerfile changes such as `ENTRYPOINT ["/init"]`.
func (rt *Runtime) ImportImage(ctx context.Context, r io.Reader, name string, changes ...string) error {
	args := []string{"import"}
	for _, ch := range changes {
		args = append(args, "--change", ch)
	}
	c := rt.cmd(append(args, "-", name)...)
	c.Stdin = r
	_, err := rt.runner.Run(ctx, c)
	return err
}

// LoadImage loads an image archive (docker save format).
func (rt *Runtime) LoadImage(ctx context.Context, archive string) error {
	_, err := rt.run(ctx, "load", "--input", archive)
	return err
}

// SaveImage writes images to an archive that docker load, podman load and
// ctr images import accept.
func (rt *Runtime) SaveImage(ctx context.Context, archive string, images ...string) error {
	args := append([]string{"save", "--output", archive}, rt.dialect.saveArgs(len(images))...)
	_, err := rt.run(ctx, append(args, images...)...)
	return err
}

// SaveImageTo streams an image archive (docker save format) of one image
// to w, without a file on the host.
func (rt *Runtime) SaveImageTo(ctx context.Context, w io.Writer, image string) error {
	c := rt.cmd("save", image)
	c.Stdout, c.StreamOnly = w, true
	_, err := rt.runner.Run(ctx, c)
	return err
}

// StoredImage is a local image: its ID (the digest of its configuration)
// and its names.
type StoredImage struct {
	ID   string
	Tags []string
}

// StoredImage looks up an image by the name a user gave; ok is false when
// the runtime has no such image.
func (rt *Runtime) StoredImage(ctx context.Context, ref string) (img StoredImage, ok bool, err error) {
	// Not {{json .Id}}: podman 4.3 cannot evaluate it ("can't evaluate
	// field Id in type interface {}").
	out, err := rt.query(ctx, "image", "inspect", "--format", "{{.Id}}\t{{json .RepoTags}}", ref)
	if err != nil {
		if run.ExitCode(err) > 0 {
			return img, false, nil
		}
		return img, false, err
	}
	line := strings.TrimSpace(string(out))
	if line == "" { // a dry run's answer
		return img, true, nil
	}
	id, tags, _ := strings.Cut(line, "\t")
	img.ID = id
	if err := json.Unmarshal([]byte(tags), &img.Tags); err != nil {
		return img, false, fmt.Errorf("%s image inspect %s: %q: %w", rt.Name(), ref, line, err)
	}
	if !strings.HasPrefix(img.ID, "sha256:") {
		img.ID = "sha256:" + img.ID // podman prints the bare hex
	}
	return img, true, nil
}

// ImageExists reports whether an image is present locally.
func (rt *Runtime) ImageExists(ctx context.Context, name string) (bool, error) {
	_, err := rt.query(ctx, "image", "inspect", "--format", "{{.Id}}", name)
	if err == nil {
		return true, nil
	}
	if run.ExitCode(err) > 0 {
		return false, nil
	}
	return false, err
}

// ImageLabel returns one label of a local image ("" when it has none).
func (rt *Runtime) ImageLabel(ctx context.Context, image, key string) (string, error) {
	out, err := rt.query(ctx, "image", "inspect", "--format", "{{index .Config.Labels "+strconv.Quote(key)+"}}", image)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageID returns the ID of a local image, or "" when it is absent.
func (rt *Runtime) ImageID(ctx context.Context, ref string) (string, error) {
	out, err := rt.query(ctx, "image", "inspect", "--format", "{{.Id}}", ref)
	if err != nil {
		if run.ExitCode(err) > 0 {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// RemoveUnusedImage deletes an image unless a container uses it or it has
// several names (then the runtime refuses and the error says why).
func (rt *Runtime) RemoveUnusedImage(ctx context.Context, id string) error {
	_, err := rt.run(ctx, "rmi", id)
	return err
}

// Untag removes one name of an image; the image itself goes only with its
// last name.
func (rt *Runtime) Untag(ctx context.Context, ref string) error {
	_, err := rt.run(ctx, rt.dialect.untagArgs(ref)...)
	return err
}

// ListImages returns local image references (repository:tag).
func (rt *Runtime) ListImages(ctx context.Context) ([]string, error) {
	out, err := rt.query(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}")
	return lines(out), err
}

// RemoveImages deletes images by reference.
func (rt *Runtime) RemoveImages(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := rt.run(ctx, append([]string{"rmi", "-f"}, names...)...)
	return err
}

// TagImage adds a reference to an image.
func (rt *Runtime) TagImage(ctx context.Context, from, to string) error {
	_, err := rt.run(ctx, "tag", from, to)
	return err
}

// ImageStoreDir is the directory the runtime keeps its images in (docker's
// root directory, podman's graph root): loading an image writes there.
func (rt *Runtime) ImageStoreDir(ctx context.Context) (string, error) {
	c := rt.cmd("info", "--format", rt.dialect.storeFormat)
	c.ReadOnly, c.Timeout = true, rt.scaled(infoTimeout)
	out, err := rt.runner.Run(ctx, c)
	if err != nil {
		return "", fmt.Errorf("%s image store: %w", rt.Name(), err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%s info names no image store directory", rt.Name())
	}
	return dir, nil
}
