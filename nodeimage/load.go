package nodeimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/components"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers"
)

// tmpName is the name an image is loaded under until the build succeeds,
// so that a failed build leaves nothing half-built under the real name.
func tmpName(name string) string {
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	return fmt.Sprintf("%s:kinc-building-%d", repo, os.Getpid())
}

// nodeImage is the node image itself: the rootfs and the node layer.
func (b *build) nodeImage() oci.Image {
	return oci.Image{Name: b.image, Layers: []oci.Layer{b.p.rootfs.Layer, b.p.nodeLayer},
		Config: oci.ImageConfig{
			Entrypoint: []string{contract.Entrypoint},
			Env:        []string{"container=docker", components.PathEnv},
			StopSignal: contract.StopSignal,
			Labels: map[string]string{contract.LabelImage: "node", contract.LabelKubernetesVersion: b.o.KubernetesVersion,
				contract.LabelRecipe: b.in.Recipe},
		}}
}

// load loads the node image and the runtime addons under temporary names.
func (b *build) load(ctx context.Context) error {
	var images []oci.Image
	for _, img := range append([]oci.Image{b.nodeImage()}, b.p.images.Runtime...) {
		img.Name = tmpName(img.Name)
		images = append(images, img)
	}
	archive := filepath.Join(b.work, "node-image.tar")
	err := b.fx.Do(ctx, func() error { return oci.WriteArchiveFile(archive, platform(), images, false) }, "write-archive", archive)
	if err != nil {
		return err
	}
	b.p.tmpTags = map[*providers.Runtime][]string{}
	for _, rt := range b.o.Runtimes {
		for _, img := range images {
			b.p.tmpTags[rt] = append(b.p.tmpTags[rt], img.Name)
		}
		if err := rt.LoadImage(ctx, archive); err != nil {
			return fmt.Errorf("%s load: %w", rt.Name(), err)
		}
	}
	return nil
}

// tag gives the loaded images their final names and drops the temporary ones.
func (b *build) tag(ctx context.Context) error {
	final := map[string]string{tmpName(b.image): b.image}
	for _, img := range b.p.images.Runtime {
		final[tmpName(img.Name)] = img.Name
	}
	for _, rt := range b.o.Runtimes {
		for _, tmp := range b.p.tmpTags[rt] {
			previous, err := rt.ImageID(ctx, final[tmp])
			if err != nil {
				return fmt.Errorf("%s: %w", rt.Name(), err)
			}
			if err := rt.TagImage(ctx, tmp, final[tmp]); err != nil {
				return fmt.Errorf("%s: %w", rt.Name(), err)
			}
			fmt.Fprintf(b.o.Out, "      %s: %s\n", rt.Name(), final[tmp])
			// A forced rebuild moves the name: drop the image it leaves
			// nameless (unless a container still uses it).
			if current, err := rt.ImageID(ctx, final[tmp]); err == nil && previous != "" && previous != current {
				_ = rt.RemoveUnusedImage(ctx, previous)
			}
		}
	}
	for rt, tags := range b.p.tmpTags {
		for _, t := range tags {
			_ = rt.Untag(ctx, t) // the image keeps its final name
		}
	}
	b.p.tmpTags = nil
	return nil
}

// removeTemporaryTags deletes what a failed build loaded: nothing it made
// stays tagged.
func (b *build) removeTemporaryTags(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for rt, tags := range b.p.tmpTags {
		_ = rt.RemoveImages(ctx, tags...)
	}
	b.p.tmpTags = nil
}
