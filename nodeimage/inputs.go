package nodeimage

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/gobuild"
)

// RecipeVersion changes whenever the way images are built changes; it is
// part of every image digest. 4: the component base layer's closure takes
// the installed alternative and keeps dependency-free packages; the
// architecture is the host's; the node image has a recipe label. 5:
// containerd 2.x and runc built from their modules (gobuild.ContainerdVersion,
// gobuild.RuncVersion) instead of Debian's containerd 1.6 and runc. 6:
// getty@tty1 masked (a privileged node's tty1 is the host's).
const RecipeVersion = "kinc-nodeimage-6"

// rootfsRecipe changes whenever the way the debootstrap rootfs is made
// changes (the package list, mirror and architecture are keyed separately).
const rootfsRecipe = "debootstrap-2"

// Debian suite and packages of the node's base rootfs.
const DebianSuite = "bookworm"

// BasePackages are installed with debootstrap --variant=minbase. Not
// containerd nor runc: kinc builds both (Debian 12's containerd 1.6 is
// unmaintained upstream). libseccomp2 stays for tools that link it; kinc's
// runc carries its own, statically.
func BasePackages() []string {
	return []string{
		"systemd", "systemd-sysv", "dbus",
		"libseccomp2",
		"iptables", "nftables", "iproute2", "containernetworking-plugins",
		"conntrack", "socat", "ethtool", "util-linux", "mount", "kmod", "procps",
		"ca-certificates", "iputils-ping", "netbase",
	}
}

// ComponentBasePackages (with their dependencies, taken from the node's
// rootfs) form the base layer shared by every component and addon image.
// nftables: kube-proxy's nftables mode runs the nft command.
func ComponentBasePackages() []string {
	return []string{"iptables", "nftables", "iproute2", "conntrack"}
}

// addonModule is the import path of nodeimage/addons in kinc's module.
const addonModule = "github.com/kinc-dev/kinc/nodeimage/addons"

// RuntimeAddon reports whether the addon runs beside the nodes, loaded into
// docker or podman, instead of from the node's containerd store.
func RuntimeAddon(name string) bool { return name == "lb" }

//go:embed all:files
var nodeFiles embed.FS

//go:embed all:addons
var addonFiles embed.FS

// digester hashes labelled inputs unambiguously.
type digester struct{ h io.Writer }

func newDigester() (*digester, func() string) {
	h := sha256.New()
	return &digester{h: h}, func() string { return hex.EncodeToString(h.Sum(nil)) }
}

func (d *digester) add(label string, values ...string) {
	fmt.Fprintf(d.h, "%s %d\n", label, len(values))
	for _, v := range values {
		fmt.Fprintf(d.h, "%d:%s\n", len(v), v)
	}
}

func (d *digester) addFS(label string, fsys fs.FS, root string) {
	var names []string
	_ = fs.WalkDir(fsys, root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(fsys, n)
		d.add(label, n, string(b))
	}
}

// Inputs are everything a node image is made of.
type Inputs struct {
	KubernetesVersion string
	// KubeBinaries maps binary name to sha256 when the Kubernetes binaries
	// come from --kube-bin-dir instead of being built from source.
	KubeBinaries map[string]string
	Packages     []string
	Suite        string
	NodeFiles    fs.FS
	AddonFiles   fs.FS
	Recipe       string
	// Arch is the GOARCH the image is built for (the host's).
	Arch string
}

// DefaultInputs are the inputs of the default node image for a version.
func DefaultInputs(kubernetesVersion string) Inputs {
	return Inputs{
		KubernetesVersion: kubernetesVersion,
		Packages:          BasePackages(),
		Suite:             DebianSuite,
		NodeFiles:         nodeFiles,
		AddonFiles:        addonFiles,
		Recipe:            RecipeVersion,
		Arch:              runtime.GOARCH,
	}
}

// Digest is the sha256 (hex) over every input.
func (in Inputs) Digest() string {
	d, sum := newDigester()
	d.add("recipe", in.Recipe)
	d.add("arch", in.Arch)
	d.add("kubernetes", in.KubernetesVersion)
	var bins []string
	for name, sha := range in.KubeBinaries {
		bins = append(bins, name+"="+sha)
	}
	sort.Strings(bins)
	d.add("kube-binaries", bins...)
	// The runtime versions are inputs too, recipe bump or not.
	d.add("runtime", gobuild.ContainerdVersion, gobuild.RuncVersion)
	d.add("suite", in.Suite)
	pkgs := append([]string(nil), in.Packages...)
	sort.Strings(pkgs)
	d.add("packages", pkgs...)
	cb := ComponentBasePackages()
	sort.Strings(cb)
	d.add("component-base", cb...)
	if in.NodeFiles != nil {
		d.addFS("node-file", in.NodeFiles, ".")
	}
	if in.AddonFiles != nil {
		d.addFS("addon-file", in.AddonFiles, ".")
	}
	return sum()
}

// ImageName is the node image name for these inputs.
func (in Inputs) ImageName() string {
	return fmt.Sprintf("%s:%s-%s", contract.NodeRepository, in.KubernetesVersion, in.Digest()[:12])
}

// DefaultImage is the node image `kinc build node-image` builds by default
// for a Kubernetes version, and the one `kinc create cluster` uses:
// kinc/node:<version>-<digest12>.
func DefaultImage(kubernetesVersion string) string {
	return DefaultInputs(kubernetesVersion).ImageName()
}

// AddonNames lists the addons whose sources are embedded in kinc.
func AddonNames() []string { return addonNames(addonFiles) }

func addonNames(fsys fs.FS) []string {
	entries, _ := fs.ReadDir(fsys, "addons")
	var names []string
	for _, e := range entries {
		if e.IsDir() && hasGoFiles(fsys, path.Join("addons", e.Name())) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func hasGoFiles(fsys fs.FS, dir string) bool {
	entries, _ := fs.ReadDir(fsys, dir)
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true
		}
	}
	return false
}

// AddonImage is the image of the embedded addon name:
// kinc.local/<name>:<digest12>, the digest covering its sources and the recipe.
func AddonImage(name string) string { return addonImage(addonFiles, name) }

func addonImage(fsys fs.FS, name string) string {
	d, sum := newDigester()
	d.add("recipe", RecipeVersion)
	d.add("arch", runtime.GOARCH)
	cb := ComponentBasePackages()
	sort.Strings(cb)
	d.add("component-base", cb...)
	d.add("packages", BasePackages()...)
	d.addFS("addon", fsys, path.Join("addons", name))
	return fmt.Sprintf("%s%s:%s", contract.AddonRepositoryPrefix, name, sum()[:12])
}
