package spec

import (
	"bytes"

	toml "github.com/pelletier/go-toml/v2"
)

// Encode writes the spec as TOML that Parse reads back to the same Cluster:
// every scalar is written (so defaults show), empty tables and arrays and an
// empty node image are left out, and patches are multi-line strings.
func (c *Cluster) Encode() ([]byte, error) {
	out := clusterOut{
		Name:              c.Name,
		KubernetesVersion: c.KubernetesVersion,
		FeatureGates:      c.FeatureGates,
		RuntimeConfig:     c.RuntimeConfig,
		Networking:        c.Networking,
	}
	for _, n := range c.Nodes {
		out.Nodes = append(out.Nodes, nodeOut(n))
	}
	for _, p := range c.KubeadmPatches {
		out.KubeadmPatches = append(out.KubeadmPatches, patchOut(p))
	}
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// The same fields as Cluster, Node and KubeadmPatch, tagged for output.
type clusterOut struct {
	Name              string            `toml:"name"`
	KubernetesVersion string            `toml:"kubernetes_version"`
	FeatureGates      map[string]bool   `toml:"feature_gates,omitempty"`
	RuntimeConfig     map[string]string `toml:"runtime_config,omitempty"`
	Networking        Networking        `toml:"networking"`
	Nodes             []nodeOut         `toml:"nodes,omitempty"`
	KubeadmPatches    []patchOut        `toml:"kubeadm_patches,omitempty"`
}

type nodeOut struct {
	Role              string            `toml:"role"`
	Image             string            `toml:"image,omitempty"`
	Labels            map[string]string `toml:"labels,omitempty"`
	ExtraMounts       []Mount           `toml:"extra_mounts,omitempty"`
	ExtraPortMappings []PortMapping     `toml:"extra_port_mappings,omitempty"`
}

type patchOut struct {
	Target string `toml:"target"`
	Type   string `toml:"type"`
	Patch  string `toml:"patch,multiline"`
}
