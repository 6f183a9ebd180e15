// Package nodeimage builds kinc's node image: a Debian rootfs with systemd,
// containerd and the Kubernetes node binaries, whose containerd store already
// holds every image a cluster needs (control plane, etcd, coredns, pause and
// kinc's addons), all built from source without any registry.
package nodeimage

// What the lifecycle relies on inside a node container.
const (
	// Entrypoint is the node image's entrypoint. It waits paused for
	// BootSignal, applies the host fixups, then execs systemd.
	Entrypoint = "/usr/local/bin/kinc-entrypoint"
	// StateFile holds the node's boot state: one of the State* values.
	StateFile = "/run/kinc/state"
	// BootSignal makes a paused node boot (`docker kill -s USR1 NODE`).
	BootSignal = "SIGUSR1"
	// KubeadmConfigPath is where the lifecycle writes the node's kubeadm configuration.
	KubeadmConfigPath = "/etc/kinc/kubeadm.yaml"
	// KubeletDefaultsPath is the EnvironmentFile (KUBELET_EXTRA_ARGS=...) of the kubelet unit.
	KubeletDefaultsPath = "/etc/default/kubelet"
	// ContainerdDir must be a named volume in every node: containerd's
	// overlayfs snapshotter cannot run on the node's own overlay root. The
	// image's content (every preloaded image) is copied into a new volume.
	ContainerdDir = "/var/lib/containerd"
	// ContainerdNamespace is the containerd namespace holding the preloaded images.
	ContainerdNamespace = "k8s.io"
	// CNIBinDir and CNIConfDir are containerd's CRI CNI directories.
	CNIBinDir  = "/usr/lib/cni"
	CNIConfDir = "/etc/cni/net.d"
	// KubeletCgroupRoot is the cgroupRoot kubelet must use (created in every
	// hierarchy at boot); the cgroup driver is cgroupfs.
	KubeletCgroupRoot   = "/kubelet"
	KubeletCgroupDriver = "cgroupfs"
	// StopSignal stops systemd cleanly.
	StopSignal = "SIGRTMIN+3"
)

// Values of StateFile. After StateBooting systemd owns the node:
// `systemctl is-system-running` answers "running" when it is up.
const (
	StatePaused  = "paused"  // waiting for BootSignal
	StateFixing  = "fixing"  // signal received, applying host fixups
	StateBooting = "booting" // exec'ing systemd
	StateFailed  = "failed"  // a fixup failed; see the container's logs
)

// PausedLogLine is what the entrypoint logs once paused.
const PausedLogLine = "kinc: paused, waiting for SIGUSR1"
