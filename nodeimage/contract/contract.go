// Package contract is what a kinc node image promises to the code that runs
// it (lifecycle, kubeadm, the CLI): paths inside a node, the boot protocol,
// labels and the default Kubernetes version. It is separate from the builder
// so that running clusters does not depend on how images are built.
package contract

import (
	"fmt"
	"strings"
)

// What the lifecycle relies on inside a node container.
const (
	// Entrypoint is the node image's entrypoint. It waits paused for
	// BootSignal, applies the host fixups, then execs systemd.
	Entrypoint = "/usr/local/bin/kinc-entrypoint"
	// StateFile holds the node's boot state: one of the State* values.
	StateFile = "/run/kinc/state"
	// BootSignal makes a paused node boot (`docker kill -s USR1 NODE`).
	BootSignal = "SIGUSR1"
	// StopSignal stops systemd cleanly.
	StopSignal = "SIGRTMIN+3"
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
	// ImagesFile lists the images preloaded in the node's containerd store, one a line.
	ImagesFile = "/etc/kinc/images"
	// VersionFile says what the image is (image=, kubernetes=, recipe= lines).
	VersionFile = "/etc/kinc/version"
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

// Labels of the node image.
const (
	// LabelImage is "node" on node images.
	LabelImage = "io.kinc.image"
	// LabelKubernetesVersion is the Kubernetes version the image carries.
	LabelKubernetesVersion = "io.kinc.kubernetes-version"
	// LabelRecipe is the builder's recipe version the image was made with.
	LabelRecipe = "io.kinc.recipe"
)

// Image names.
const (
	// NodeRepository is the repository of default node images.
	NodeRepository = "kinc/node"
	// AddonRepositoryPrefix prefixes addon image names.
	AddonRepositoryPrefix = "kinc.local/"
)

// DefaultKubernetesVersion is built, and booted, when no version is given.
const DefaultKubernetesVersion = "v1.34.4"

// OldestKubernetesMinor is the oldest Kubernetes minor (1.x) a node image
// can carry: kinc writes kubeadm's v1beta4 configuration, which kubeadm
// reads from v1.31 on.
const OldestKubernetesMinor = 31

// ProvenKubernetesVersions are the versions whose node images have passed
// the e2e cluster tests (make e2e-version); README "Kubernetes versions".
func ProvenKubernetesVersions() []string { return []string{"v1.33.13", "v1.34.4", "v1.37.2"} }

// SupportedVersions says which Kubernetes versions kinc builds.
func SupportedVersions() string {
	return fmt.Sprintf("kinc builds Kubernetes v1.%d.0 and newer, at the versions the Go module proxy serves (k8s.io/kubernetes); proven: %s; the default is %s",
		OldestKubernetesMinor, strings.Join(ProvenKubernetesVersions(), ", "), DefaultKubernetesVersion)
}
