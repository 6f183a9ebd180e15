package spec

// Defaults of the spec.
const (
	DefaultName              = "kinc"
	DefaultKubernetesVersion = "v1.34.4"
	DefaultAPIServerAddress  = "127.0.0.1"
	DefaultPodSubnet         = "10.244.0.0/16"
	DefaultServiceSubnet     = "10.96.0.0/16"
	DefaultIPFamily          = "ipv4"
	DefaultKubeProxyMode     = "iptables"
	DefaultPropagation       = "none"
	DefaultListenAddress     = "0.0.0.0"
	DefaultProtocol          = "tcp"
	DefaultPatchType         = "strategic"
)

// Default returns the default cluster: what an empty spec file means.
func Default() *Cluster {
	c := &Cluster{}
	c.SetDefaults()
	return c
}

// SetDefaults fills in every value the spec left out. A listed node without
// a role is a control-plane node (as in kind); an empty node image means the
// default node image, chosen by the lifecycle. The API server port stays 0:
// a free port is chosen at create time. Empty tables and arrays become nil.
func (c *Cluster) SetDefaults() {
	setString(&c.Name, DefaultName)
	setString(&c.KubernetesVersion, DefaultKubernetesVersion)
	if len(c.FeatureGates) == 0 {
		c.FeatureGates = nil
	}
	if len(c.RuntimeConfig) == 0 {
		c.RuntimeConfig = nil
	}

	n := &c.Networking
	setString(&n.APIServerAddress, DefaultAPIServerAddress)
	setString(&n.PodSubnet, DefaultPodSubnet)
	setString(&n.ServiceSubnet, DefaultServiceSubnet)
	setString(&n.IPFamily, DefaultIPFamily)
	setString(&n.KubeProxyMode, DefaultKubeProxyMode)

	if len(c.Nodes) == 0 {
		c.Nodes = []Node{{}}
	}
	for i := range c.Nodes {
		node := &c.Nodes[i]
		setString(&node.Role, RoleControlPlane)
		if len(node.Labels) == 0 {
			node.Labels = nil
		}
		if len(node.ExtraMounts) == 0 {
			node.ExtraMounts = nil
		}
		for j := range node.ExtraMounts {
			setString(&node.ExtraMounts[j].Propagation, DefaultPropagation)
		}
		if len(node.ExtraPortMappings) == 0 {
			node.ExtraPortMappings = nil
		}
		for j := range node.ExtraPortMappings {
			pm := &node.ExtraPortMappings[j]
			setString(&pm.ListenAddress, DefaultListenAddress)
			setString(&pm.Protocol, DefaultProtocol)
		}
	}

	if len(c.KubeadmPatches) == 0 {
		c.KubeadmPatches = nil
	}
	for i := range c.KubeadmPatches {
		setString(&c.KubeadmPatches[i].Type, DefaultPatchType)
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
