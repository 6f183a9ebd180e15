package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/components"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/ctrstore"
	"github.com/kinc-dev/kinc/nodeimage/debian"
	"github.com/kinc-dev/kinc/nodeimage/gobuild"
	"github.com/kinc-dev/kinc/nodeimage/internal/fileop"
	"github.com/kinc-dev/kinc/nodeimage/nodelayer"
	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers"
)

// build is one node image build: its fixed inputs, then what its steps make.
type build struct {
	o     Options
	in    Inputs
	image string
	fx    fileop.FS
	// work is the build's temporary directory (under the cache directory),
	// removed at the end.
	work string
	p    products
}

// products are what the steps make: each field is written by one step (the
// number) and only read by later ones.
type products struct {
	rootfs    debian.Rootfs                   // 1
	kube      gobuild.Kube                    // 2
	comps     []components.Component          // 3
	compBins  map[string]string               // 3 (kube), 4 (etcd, coredns, pause): binary -> file
	rtBins    map[string]string               // 5: containerd, ctr, the shim, runc -> file
	addonBins map[string]string               // 6: addon -> binary
	compBase  oci.Layer                       // 7
	images    components.Images               // 8
	nodeLayer oci.Layer                       // 10, of the stage directory step 9 put the store in
	tmpTags   map[*providers.Runtime][]string // 11: names to drop, 12 clears
}

// step is one named, timed step of the build.
type step struct {
	name string
	run  func(context.Context) error
}

// platform is the host's: the images carry binaries built for it.
func platform() oci.Platform { return oci.PlatformOf(runtime.GOARCH) }

func (b *build) stage() string { return filepath.Join(b.work, "node") }

// steps lists the build, in order. Each step reads the options, the inputs
// and earlier steps' products, and writes its own.
func (b *build) steps() []step {
	o, in, p := b.o, b.in, &b.p
	r := o.Runner
	return []step{
		{"base rootfs (debootstrap " + in.Suite + ")", func(ctx context.Context) (err error) {
			arch, err := debian.Arch(in.Arch)
			if err != nil {
				return err
			}
			p.rootfs, err = debian.BuildRootfs(ctx, r, o.Out, debian.RootfsInput{CacheDir: o.CacheDir, Suite: in.Suite,
				Mirror: debian.Mirror("/etc/apt", in.Suite), Arch: arch, Packages: in.Packages, Recipe: rootfsRecipe})
			return err
		}},
		{"kubernetes binaries", func(ctx context.Context) (err error) {
			p.kube, err = gobuild.Kubernetes(ctx, r, o.Out, gobuild.KubeInput{CacheDir: o.CacheDir, Version: o.KubernetesVersion,
				BinDir: o.KubeBinDir, SrcDir: o.KubeRoot, Force: o.Force})
			if errors.Is(err, gobuild.ErrNoSuchVersion) {
				return fmt.Errorf("%w\n  %s", err, contract.SupportedVersions())
			}
			return err
		}},
		{"component list (kubeadm config images list)", func(ctx context.Context) (err error) {
			if p.comps, err = components.List(ctx, r, filepath.Join(p.kube.BinDir, "kubeadm"), o.KubernetesVersion); err != nil {
				return err
			}
			p.compBins = map[string]string{}
			for _, c := range p.comps {
				fmt.Fprintf(o.Out, "      %s\n", c.Image)
				if c.Kind == "kube" {
					p.compBins[c.Binary] = filepath.Join(p.kube.BinDir, c.Binary)
				}
			}
			return nil
		}},
		{"etcd, coredns and pause", func(ctx context.Context) error {
			bins, err := components.BuildExtra(ctx, r, components.ExtraInput{CacheDir: o.CacheDir, Work: b.work,
				KubeSrc: p.kube.SrcDir, Comps: p.comps, Force: o.Force})
			for k, v := range bins {
				p.compBins[k] = v
			}
			return err
		}},
		{"containerd " + gobuild.ContainerdVersion + " and runc " + gobuild.RuncVersion, func(ctx context.Context) (err error) {
			p.rtBins, err = gobuild.Runtime(ctx, r, o.Out, gobuild.RuntimeInput{CacheDir: o.CacheDir,
				Containerd: gobuild.ContainerdVersion, Runc: gobuild.RuncVersion, Force: o.Force})
			return err
		}},
		{"addons", func(ctx context.Context) (err error) {
			names := addonNames(in.AddonFiles)
			if len(names) == 0 {
				fmt.Fprintln(o.Out, "      no addon sources embedded")
				return nil
			}
			if p.addonBins, err = gobuild.Addons(ctx, r, in.AddonFiles, addonModule, b.work, names); err == nil {
				fmt.Fprintf(o.Out, "      built %s\n", strings.Join(names, ", "))
			}
			return err
		}},
		{"component base layer (" + strings.Join(ComponentBasePackages(), ", ") + ")", func(ctx context.Context) (err error) {
			p.compBase, err = components.BaseLayer(ctx, r, p.rootfs.Dir, filepath.Join(b.work, "component-base.tar"), ComponentBasePackages())
			return err
		}},
		{"component and addon images", func(ctx context.Context) (err error) {
			var addons []components.Addon
			for _, n := range addonNames(in.AddonFiles) {
				addons = append(addons, components.Addon{Name: n, Image: addonImage(in.AddonFiles, n), Binary: p.addonBins[n], Runtime: RuntimeAddon(n)})
			}
			p.images, err = components.BuildImages(ctx, r, components.ImagesInput{Work: b.work, Base: p.compBase, Comps: p.comps,
				Bins: p.compBins, Addons: addons})
			return err
		}},
		{"node containerd store (ctr images import)", func(ctx context.Context) error {
			return ctrstore.Import(ctx, r, ctrstore.Input{Root: filepath.Join(b.stage(), contract.ContainerdDir), Work: b.work,
				Namespace: contract.ContainerdNamespace, Platform: platform(), Images: p.images.Node,
				Containerd: p.rtBins["containerd"], Ctr: p.rtBins["ctr"]})
		}},
		{"node layer", func(ctx context.Context) (err error) {
			var names []string
			for _, img := range p.images.Node {
				names = append(names, img.Name)
			}
			p.nodeLayer, err = nodelayer.Build(ctx, r, nodelayer.Input{Stage: b.stage(), Dst: filepath.Join(b.work, "node-layer.tar"),
				Files: in.NodeFiles, KubeBin: p.kube.BinDir, Etcdctl: p.compBins["etcdctl"], Runtime: p.rtBins, PauseImage: components.Pause(p.comps),
				Images: names, Version: fmt.Sprintf("image=%s\nkubernetes=%s\nrecipe=%s\n", b.image, o.KubernetesVersion, in.Recipe)})
			return err
		}},
		{"load into " + runtimeNames(o.Runtimes), b.load},
		{"tag", b.tag},
	}
}

// StepNames are the steps of a build, in order (for tests and docs).
func StepNames() []string {
	b := &build{o: Options{}, in: DefaultInputs(contract.DefaultKubernetesVersion)}
	var names []string
	for _, s := range b.steps() {
		names = append(names, s.name)
	}
	return names
}
