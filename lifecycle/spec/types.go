// Package spec loads and validates kinc's TOML cluster spec.
package spec

// Roles a node may have.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Cluster is a whole cluster spec; an empty file means one control-plane node.
type Cluster struct {
	Name              string            `toml:"name"`
	KubernetesVersion string            `toml:"kubernetes_version"`
	FeatureGates      map[string]bool   `toml:"feature_gates,omitempty"`
	RuntimeConfig     map[string]string `toml:"runtime_config,omitempty"`
	Networking        Networking        `toml:"networking"`
	Nodes             []Node            `toml:"nodes,omitempty"`
	KubeadmPatches    []KubeadmPatch    `toml:"kubeadm_patches,omitempty"`

	// src is where the spec was loaded from (file and key lines), for
	// Validate's messages; nil for a Cluster built in Go.
	src *source
}

// Networking configures the cluster's networks.
type Networking struct {
	APIServerAddress  string `toml:"api_server_address"`
	APIServerPort     int    `toml:"api_server_port"` // 0: a free port
	PodSubnet         string `toml:"pod_subnet"`
	ServiceSubnet     string `toml:"service_subnet"`
	IPFamily          string `toml:"ip_family"` // ipv4 (ipv6 and dual are rejected until supported)
	DisableDefaultCNI bool   `toml:"disable_default_cni"`
	KubeProxyMode     string `toml:"kube_proxy_mode"` // iptables, ipvs, nftables or none
}

// Node is one node container.
type Node struct {
	Role              string            `toml:"role"`
	Image             string            `toml:"image,omitempty"`
	Labels            map[string]string `toml:"labels,omitempty"`
	ExtraMounts       []Mount           `toml:"extra_mounts,omitempty"`
	ExtraPortMappings []PortMapping     `toml:"extra_port_mappings,omitempty"`
}

// Mount is a host path mounted into a node.
type Mount struct {
	HostPath      string `toml:"host_path"`
	ContainerPath string `toml:"container_path"`
	ReadOnly      bool   `toml:"read_only"`
	Propagation   string `toml:"propagation"` // none, host_to_container, bidirectional
}

// PortMapping publishes a node port on the host.
type PortMapping struct {
	ContainerPort int    `toml:"container_port"`
	HostPort      int    `toml:"host_port"` // 0: a free port
	ListenAddress string `toml:"listen_address"`
	Protocol      string `toml:"protocol"` // tcp, udp, sctp
}

// KubeadmPatch is a kubeadm patch (kubeadm's --patches mechanism) applied
// on every node that runs the target.
type KubeadmPatch struct {
	// Target is a kubeadm patch target: kube-apiserver,
	// kube-controller-manager, kube-scheduler, etcd, kubeletconfiguration
	// or corednsdeployment.
	Target string `toml:"target"`
	// Type is strategic (default), merge or json.
	Type string `toml:"type"`
	// Patch is the patch document, YAML or JSON.
	Patch string `toml:"patch,multiline"`
}
