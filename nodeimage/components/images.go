package components

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// Addon is one of kinc's addons, as an image.
type Addon struct {
	Name, Image, Binary string
	// Runtime addons run beside the nodes (in docker or podman), the others
	// in the cluster (from the node's containerd store).
	Runtime bool
}

// ImagesInput is what the component and addon images are made of.
type ImagesInput struct {
	// Work receives one binary layer per image.
	Work  string
	Base  oci.Layer
	Comps []Component
	// Bins maps every component's binary name to its file.
	Bins   map[string]string
	Addons []Addon
}

// Images are the images of a node image build.
type Images struct {
	// Node are preloaded in the node's containerd store.
	Node []oci.Image
	// Runtime are loaded into the container runtimes.
	Runtime []oci.Image
}

// BuildImages makes every component and addon image: the base layer and
// one layer holding the binary.
func BuildImages(ctx context.Context, r run.Runner, in ImagesInput) (Images, error) {
	var res Images
	for _, c := range in.Comps {
		bin, ok := in.Bins[c.Binary]
		if !ok {
			return res, fmt.Errorf("no binary for %s", c.Image)
		}
		l, err := binaryLayer(ctx, r, filepath.Join(in.Work, "layer-"+c.Binary+".tar"), bin, Path(c))
		if err != nil {
			return res, err
		}
		res.Node = append(res.Node, oci.Image{Name: c.Image, Config: Config(c), Layers: []oci.Layer{in.Base, l}})
	}
	for _, a := range in.Addons {
		p := "/usr/local/bin/" + a.Name
		l, err := binaryLayer(ctx, r, filepath.Join(in.Work, "layer-addon-"+a.Name+".tar"), a.Binary, p)
		if err != nil {
			return res, err
		}
		img := oci.Image{Name: a.Image, Layers: []oci.Layer{in.Base, l},
			Config: oci.ImageConfig{Entrypoint: []string{p}, Env: []string{PathEnv}}}
		if a.Runtime {
			res.Runtime = append(res.Runtime, img)
		} else {
			res.Node = append(res.Node, img)
		}
	}
	return res, nil
}

// binaryLayer writes the layer dst holding the program src at path.
func binaryLayer(ctx context.Context, r run.Runner, dst, src, path string) (oci.Layer, error) {
	var layer oci.Layer
	err := fileop.FS{R: r}.Do(ctx, func() error {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		lw, err := oci.NewLayerWriter(dst)
		if err != nil {
			return err
		}
		if err := lw.File(path, 0o755, data); err != nil {
			return err
		}
		layer, err = lw.Close()
		return err
	}, "write-layer", dst, src+" as "+path)
	return layer, err
}
