// Package kubeadm renders the kubeadm configuration of each node.
package kubeadm

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/contract"
)

// Paths inside a node; the rest are the node image's (nodeimage).
const (
	ConfigPath = contract.KubeadmConfigPath
	// DiscoveryPath is the kubeconfig joining nodes discover the cluster
	// with: it carries the cluster CA, so joins need not wait for the
	// controller manager to sign cluster-info for token discovery.
	DiscoveryPath = "/etc/kinc/discovery.conf"
	PatchesDir    = "/etc/kinc/patches"
	CRISocket     = "unix:///run/containerd/containerd.sock"
	APIServerPort = 6443
)

// Node is what the configuration needs to know about one node.
type Node struct {
	Name   string
	IP     string
	Role   string // control-plane or worker
	Labels map[string]string
	// Init marks the node that runs kubeadm init.
	Init bool
}

// Cluster is what every node's configuration shares.
type Cluster struct {
	Name              string
	KubernetesVersion string
	// ControlPlaneEndpoint is host:port every node reaches the API server on.
	ControlPlaneEndpoint string
	// CertSANs are extra names and addresses the API server certificate covers.
	CertSANs       []string
	PodSubnet      string
	ServiceSubnet  string
	KubeProxyMode  string
	FeatureGates   map[string]bool
	RuntimeConfig  map[string]string
	Token          string
	CertificateKey string
	// Tainted is false when no worker exists, so control planes run pods.
	Tainted bool
	// ResolvConf is the resolv.conf pods with the Default DNS policy get.
	ResolvConf string
	// TimeoutScale > 1 multiplies kubeadm's own waits (the control plane
	// and kubelet health checks, API calls, TLS bootstrap, discovery), for
	// hosts many times slower than usual such as emulated VMs.
	TimeoutScale float64
	// InUserNamespace: the nodes run in a user namespace (rootless podman),
	// where kubelet must not fail on what only the host's root may do
	// (reading /dev/kmsg for its OOM watcher, kernel sysctls): kubelet gets
	// the KubeletInUserNamespace feature gate.
	InUserNamespace bool
}

// kubeadmTimeouts are kubeadm v1beta4's default timeouts, which TimeoutScale
// multiplies.
var kubeadmTimeouts = []struct {
	Name    string
	Default time.Duration
}{
	{"controlPlaneComponentHealthCheck", 4 * time.Minute},
	{"kubeletHealthCheck", 4 * time.Minute},
	{"kubernetesAPICall", time.Minute},
	{"etcdAPICall", 2 * time.Minute},
	{"tlsBootstrap", 5 * time.Minute},
	{"discovery", 5 * time.Minute},
}

// kubeletRuntimeRequestTimeout is kubelet's default deadline for a CRI call
// (runtimeRequestTimeout), which TimeoutScale multiplies too: in a VM under
// QEMU's TCG on a busy host, starting kube-apiserver's container took longer
// than 2 min; kubelet cancelled it ("RunContainerError: context deadline
// exceeded"), left the task half-created and tried again, so the API server
// never came up within kubeadm's (scaled) wait.
const kubeletRuntimeRequestTimeout = 2 * time.Minute

// The scheduler's and controller manager's leader election defaults, which
// TimeoutScale multiplies: a leader that cannot renew its lease within the
// renew deadline exits, and on a host too slow to answer a lease update in
// 10 s (the API server and etcd starved in a TCG VM) they would restart
// over and over. The first election is not slower for it (no holder yet);
// the retry period stays 500ms.
const (
	leaderElectLeaseDuration = 15 * time.Second
	leaderElectRenewDeadline = 10 * time.Second
)

// NewToken returns a random bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}).
func NewToken() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:6]) + "." + string(b[6:]), nil
}

// NewCertificateKey returns a random key for kubeadm's uploaded certificates.
func NewCertificateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

type arg struct{ Name, Value string }

type view struct {
	Cluster
	Node
	APIServerPort       int
	DiscoveryPath       string
	CRISocket           string
	PatchesDir          string
	KubeletCgroups      string
	KubeletCgroupDriver string
	APIServerArgs       []arg
	ControllerArgs      []arg
	SchedulerArgs       []arg
	KubeletArgs         []arg
	SortedFeatureGates  []arg
	KubeletFeatureGates []arg
	ControlPlaneJoin    bool
	NoTaints            bool
	SkipKubeProxy       bool
	Timeouts            []arg
	// RuntimeRequestTimeout: kubelet's, when scaled (empty: its default).
	RuntimeRequestTimeout string
}

// Render returns the kubeadm configuration file for node.
func Render(c Cluster, n Node) (string, error) {
	v := view{
		Cluster: c, Node: n,
		APIServerPort: APIServerPort, DiscoveryPath: DiscoveryPath, CRISocket: CRISocket, PatchesDir: PatchesDir, KubeletCgroups: contract.KubeletCgroupRoot, KubeletCgroupDriver: contract.KubeletCgroupDriver,
		ControlPlaneJoin: !n.Init && n.Role == "control-plane",
		NoTaints:         !c.Tainted,
		SkipKubeProxy:    c.KubeProxyMode == "none",
	}
	// Metrics reachable from other nodes; leases retried every 500ms rather
	// than 2s, which shortens a new cluster's start.
	for _, a := range []*[]arg{&v.ControllerArgs, &v.SchedulerArgs} {
		*a = append(*a, arg{"bind-address", "0.0.0.0"}, arg{"leader-elect-retry-period", "500ms"})
	}
	gates := featureGates(c.FeatureGates)
	if gates != "" {
		for _, a := range []*[]arg{&v.APIServerArgs, &v.ControllerArgs, &v.SchedulerArgs} {
			*a = append(*a, arg{"feature-gates", gates})
		}
	}
	if rc := runtimeConfig(c.RuntimeConfig); rc != "" {
		v.APIServerArgs = append(v.APIServerArgs, arg{"runtime-config", rc})
	}
	if c.TimeoutScale > 1 {
		for _, t := range kubeadmTimeouts {
			v.Timeouts = append(v.Timeouts, arg{t.Name, scaled(t.Default, c.TimeoutScale)})
		}
		v.RuntimeRequestTimeout = scaled(kubeletRuntimeRequestTimeout, c.TimeoutScale)
		for _, a := range []*[]arg{&v.ControllerArgs, &v.SchedulerArgs} {
			*a = append(*a, arg{"leader-elect-lease-duration", scaled(leaderElectLeaseDuration, c.TimeoutScale)},
				arg{"leader-elect-renew-deadline", scaled(leaderElectRenewDeadline, c.TimeoutScale)})
		}
	}
	v.KubeletArgs = append(v.KubeletArgs, arg{"node-ip", n.IP})
	if labels := joinMap(n.Labels); labels != "" {
		v.KubeletArgs = append(v.KubeletArgs, arg{"node-labels", labels})
	}
	for _, k := range slices.Sorted(maps.Keys(c.FeatureGates)) {
		v.SortedFeatureGates = append(v.SortedFeatureGates, arg{k, fmt.Sprint(c.FeatureGates[k])})
	}
	v.KubeletFeatureGates = v.SortedFeatureGates
	if _, set := c.FeatureGates["KubeletInUserNamespace"]; c.InUserNamespace && !set {
		v.KubeletFeatureGates = append(append([]arg(nil), v.KubeletFeatureGates...), arg{"KubeletInUserNamespace", "true"})
		slices.SortFunc(v.KubeletFeatureGates, func(a, b arg) int { return strings.Compare(a.Name, b.Name) })
	}
	tmpl := joinTemplate
	if n.Init {
		tmpl = initTemplate
	}
	var buf bytes.Buffer
	t := template.Must(template.New("kubeadm").Funcs(template.FuncMap{"quote": quote}).Parse(extraArgsTemplate + featureGatesTemplate))
	if err := template.Must(t.Parse(tmpl)).Execute(&buf, v); err != nil {
		return "", fmt.Errorf("render kubeadm config for %s: %w", n.Name, err)
	}
	return buf.String(), nil
}

// scaled is d times f, in whole seconds, as kubeadm and kubelet read it.
func scaled(d time.Duration, f float64) string {
	return time.Duration(float64(d) * f).Round(time.Second).String()
}

// quote renders s as a YAML double-quoted scalar (JSON strings are valid YAML).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func featureGates(gates map[string]bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(gates)) {
		parts = append(parts, fmt.Sprintf("%s=%t", k, gates[k]))
	}
	return strings.Join(parts, ",")
}

func runtimeConfig(rc map[string]string) string { return joinMap(rc) }

func joinMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// extraArgsTemplate renders a component's extraArgs list, if any.
const extraArgsTemplate = `{{define "extraArgs"}}{{if .}}
  extraArgs:
{{- range .}}
  - name: {{quote .Name}}
    value: {{quote .Value}}
{{- end}}{{end}}{{end}}`

// featureGatesTemplate renders a component config's featureGates map, if any.
const featureGatesTemplate = `{{define "featureGates"}}{{if .}}
featureGates:
{{- range .}}
  {{quote .Name}}: {{.Value}}
{{- end}}{{end}}{{end}}`

const nodeRegistration = `{{- if .Timeouts}}
timeouts:
{{- range .Timeouts}}
  {{.Name}}: {{quote .Value}}
{{- end}}
{{- end}}
nodeRegistration:
  name: {{quote .Node.Name}}
  criSocket: {{quote .CRISocket}}
  imagePullPolicy: Never
  kubeletExtraArgs:
{{- range .KubeletArgs}}
  - name: {{quote .Name}}
    value: {{quote .Value}}
{{- end}}
{{- if .NoTaints}}
  taints: []
{{- end}}
patches:
  directory: {{quote .PatchesDir}}
`

const initTemplate = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: {{quote .Token}}
  ttl: 24h0m0s
localAPIEndpoint:
  advertiseAddress: {{quote .Node.IP}}
  bindPort: {{.APIServerPort}}
{{- if .CertificateKey}}
certificateKey: {{quote .CertificateKey}}
{{- end}}
{{- if .SkipKubeProxy}}
skipPhases:
- addon/kube-proxy
{{- end}}
` + nodeRegistration + `---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: {{quote .Cluster.Name}}
kubernetesVersion: {{quote .KubernetesVersion}}
controlPlaneEndpoint: {{quote .ControlPlaneEndpoint}}
networking:
  podSubnet: {{quote .PodSubnet}}
  serviceSubnet: {{quote .ServiceSubnet}}
  dnsDomain: cluster.local
apiServer:
  certSANs:
{{- range .CertSANs}}
  - {{quote .}}
{{- end}}
{{- template "extraArgs" .APIServerArgs}}
controllerManager:
{{- template "extraArgs" .ControllerArgs}}
scheduler:
{{- template "extraArgs" .SchedulerArgs}}
etcd:
  local:
    dataDir: /var/lib/etcd
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: {{quote .KubeletCgroupDriver}}
cgroupRoot: {{quote .KubeletCgroups}}
failCgroupV1: false
failSwapOn: false
resolvConf: {{quote .ResolvConf}}
{{- if .RuntimeRequestTimeout}}
runtimeRequestTimeout: {{quote .RuntimeRequestTimeout}}
{{- end}}
imageGCHighThresholdPercent: 100
evictionHard:
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
{{- template "featureGates" .KubeletFeatureGates}}
{{- if not .SkipKubeProxy}}
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: {{quote .KubeProxyMode}}
conntrack:
  maxPerCore: 0
{{- template "featureGates" .SortedFeatureGates}}
{{- end}}
`

const joinTemplate = `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  file:
    kubeConfigPath: {{quote .DiscoveryPath}}
  tlsBootstrapToken: {{quote .Token}}
{{- if .ControlPlaneJoin}}
controlPlane:
  localAPIEndpoint:
    advertiseAddress: {{quote .Node.IP}}
    bindPort: {{.APIServerPort}}
  certificateKey: {{quote .CertificateKey}}
{{- end}}
` + nodeRegistration

// Discovery returns the kubeconfig joining nodes use to find and trust the
// cluster: its endpoint and CA, no credentials (cluster-info is public).
func Discovery(endpoint string, caPEM []byte) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: discovery
  context:
    cluster: kubernetes
    user: discovery
users:
- name: discovery
  user: {}
current-context: discovery
`, quote("https://"+endpoint), base64.StdEncoding.EncodeToString(caPEM))
}
