// Package components makes the images kubeadm expects (control plane,
// etcd, coredns, pause) and kinc's addon images, from binaries built from
// source on a base layer taken from the node's own Debian rootfs.
package components

import (
	"context"
	"fmt"
	"strings"

	"github.com/kinc-dev/kinc/nodeimage/oci"
	"github.com/kinc-dev/kinc/providers/run"
)

// PathEnv is the PATH of every component and addon image.
const PathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Component is one image kubeadm expects, and how kinc makes it.
type Component struct {
	// Image is the exact reference kubeadm names, e.g. registry.k8s.io/etcd:3.6.5-0.
	Image string
	// Kind is kube (a Kubernetes binary), etcd, coredns or pause.
	Kind string
	// Binary is the program's name (kube-apiserver, etcd, coredns, pause).
	Binary string
	// Version is the source version to build (v3.6.5 for etcd 3.6.5-0).
	Version string
}

// ParseImageList maps the output of `kubeadm config images list` to the
// components to build. Every line must be recognized.
func ParseImageList(out string) ([]Component, error) {
	var comps []Component
	for _, line := range strings.Split(out, "\n") {
		ref := strings.TrimSpace(line)
		if ref == "" {
			continue
		}
		i := strings.LastIndex(ref, ":")
		if i < 0 || strings.Contains(ref[i:], "/") {
			return nil, fmt.Errorf("kubeadm image %q has no tag", ref)
		}
		repo, tag := ref[:i], ref[i+1:]
		base := repo[strings.LastIndex(repo, "/")+1:]
		c := Component{Image: ref, Binary: base}
		switch base {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy":
			c.Kind, c.Version = "kube", tag
		case "etcd":
			// 3.6.5-0: the suffix is the image revision.
			v := tag
			if j := strings.Index(v, "-"); j >= 0 {
				v = v[:j]
			}
			c.Kind, c.Version = "etcd", "v"+strings.TrimPrefix(v, "v")
		case "coredns":
			c.Kind, c.Version = "coredns", "v"+strings.TrimPrefix(tag, "v")
		case "pause":
			c.Kind, c.Version = "pause", tag
		default:
			return nil, fmt.Errorf("kubeadm names image %q, which kinc does not know how to build", ref)
		}
		comps = append(comps, c)
	}
	if len(comps) == 0 {
		return nil, fmt.Errorf("kubeadm listed no images")
	}
	return comps, nil
}

// List asks kubeadm which images its version needs.
func List(ctx context.Context, r run.Runner, kubeadm, version string) ([]Component, error) {
	out, err := r.Run(ctx, run.Cmd{Args: []string{kubeadm, "config", "images", "list", "--kubernetes-version", version}, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	return ParseImageList(string(out))
}

// Config is the runtime configuration of a component image, mirroring the
// upstream images.
func Config(c Component) oci.ImageConfig {
	cfg := oci.ImageConfig{Env: []string{PathEnv}}
	switch c.Kind {
	case "kube", "etcd":
		cfg.Entrypoint = []string{"/usr/local/bin/" + c.Binary}
	case "coredns":
		cfg.Entrypoint = []string{"/coredns"}
	case "pause":
		cfg.Entrypoint = []string{"/pause"}
	}
	return cfg
}

// Path is where the binary lives in its image.
func Path(c Component) string { return Config(c).Entrypoint[0] }

// Pause is the pause image among comps ("" when kubeadm names none).
func Pause(comps []Component) string {
	for _, c := range comps {
		if c.Kind == "pause" {
			return c.Image
		}
	}
	return ""
}
