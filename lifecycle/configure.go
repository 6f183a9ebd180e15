package lifecycle

import (
	"context"
	"fmt"
	"net"
	"path"
	"strings"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/providers"
)

// configure renders each node's kubeadm configuration from the spec and
// writes it, the user's kubeadm patches and /etc/hosts into the paused nodes.
type configure struct{}

func (configure) Name() string { return "configure" }

func (configure) Run(ctx context.Context, c *Cluster) error {
	return c.configureNodes(ctx, c.Nodes)
}

// Where configure keeps, in every node, what a restart or a later command
// needs: the hosts file the entrypoint restores at each start, and the spec
// the cluster was made from (for nodes added later).
const (
	kincHostsPath = "/etc/kinc/hosts"
	kincSpecPath  = "/etc/kinc/cluster.toml"
)

// configureNodes writes the configuration of nodes (all of them at
// creation, one when a node is added).
func (c *Cluster) configureNodes(ctx context.Context, nodes []*Node) error {
	hosts, err := c.hostsFile(ctx)
	if err != nil {
		return err
	}
	specTOML, err := c.Spec.Encode()
	if err != nil {
		return fmt.Errorf("encode the spec: %w", err)
	}
	kc := c.kubeadmCluster()
	hostResolv := hostResolvFiles()
	// The network's gateway is where a runtime serves its own DNS
	// (podman's aardvark-dns); see podResolvConf.
	var runtimeDNS []string
	if subnet, err := c.Provider.NetworkSubnet(ctx, c.Network); err == nil && subnet.Gateway != "" {
		runtimeDNS = append(runtimeDNS, subnet.Gateway)
	}
	return parallel(nodes, func(n *Node) error {
		cfg, err := kubeadm.Render(kc, kubeadm.Node{Name: n.Name, IP: n.IP, Role: n.Role, Labels: n.Spec.Labels, Init: n.Init})
		if err != nil {
			return err
		}
		nodeResolv, err := c.Provider.Exec(ctx, n.Name, providers.ExecOptions{}, "cat", "/etc/resolv.conf")
		if err != nil {
			return fmt.Errorf("node %s: read resolv.conf: %w", n.Name, err)
		}
		resolv, err := podResolvConf(string(nodeResolv), runtimeDNS, hostResolv...)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		files := map[string]string{kubeadm.ConfigPath: cfg, "/etc/hosts": hosts, kincHostsPath: hosts,
			kubeletResolvConf: resolv, kincSpecPath: string(specTOML)}
		// kinc's own patch first, so that the user's patches win.
		files[path.Join(kubeadm.PatchesDir, "corednsdeployment000+strategic.yaml")] = corednsPatch
		if n.Role == spec.RoleWorker {
			files[path.Join(kubeadm.PatchesDir, "kubeletconfiguration000+merge.yaml")] = workerKubeletPatch
		}
		for target, patch := range slowProbePatches(c.timeoutScale) {
			files[path.Join(kubeadm.PatchesDir, target+"000+strategic.yaml")] = patch
		}
		for i, p := range c.Spec.KubeadmPatches {
			files[path.Join(kubeadm.PatchesDir, patchFileName(i+1, p))] = p.Patch
		}
		for name, content := range files {
			if err := c.Provider.WriteFile(ctx, n.Name, name, []byte(content), 0o644); err != nil {
				return fmt.Errorf("node %s: write %s: %w", n.Name, name, err)
			}
		}
		return nil
	})
}

// patchFileName follows kubeadm's patch naming: target[suffix][+type].ext;
// the suffix orders the patches as the spec lists them.
func patchFileName(i int, p spec.KubeadmPatch) string {
	typ := p.Type
	if typ == "" {
		typ = "strategic"
	}
	ext := "yaml"
	if strings.HasPrefix(strings.TrimSpace(p.Patch), "{") || strings.HasPrefix(strings.TrimSpace(p.Patch), "[") {
		ext = "json"
	}
	return fmt.Sprintf("%s%03d+%s.%s", p.Target, i, typ, ext)
}

// controlPlaneEndpoint is where every node reaches the API server.
func (c *Cluster) controlPlaneEndpoint() string {
	host := c.initNode().Name
	if c.LoadBalancerNeeded() {
		host = LoadBalancerName(c.Name)
	}
	return net.JoinHostPort(host, fmt.Sprint(kubeadm.APIServerPort))
}

func (c *Cluster) kubeadmCluster() kubeadm.Cluster {
	sans := []string{"localhost", "127.0.0.1", c.Spec.Networking.APIServerAddress}
	if c.LoadBalancerNeeded() {
		sans = append(sans, LoadBalancerName(c.Name))
	}
	return kubeadm.Cluster{
		Name:                 c.Name,
		KubernetesVersion:    c.Spec.KubernetesVersion,
		ControlPlaneEndpoint: c.controlPlaneEndpoint(),
		CertSANs:             dedupe(sans),
		PodSubnet:            c.Spec.Networking.PodSubnet,
		ServiceSubnet:        c.Spec.Networking.ServiceSubnet,
		KubeProxyMode:        c.Spec.Networking.KubeProxyMode,
		FeatureGates:         c.Spec.FeatureGates,
		RuntimeConfig:        c.Spec.RuntimeConfig,
		Token:                c.Token,
		CertificateKey:       c.CertificateKey,
		Tainted:              len(c.nodesWithRole(spec.RoleWorker)) > 0,
		ResolvConf:           kubeletResolvConf,
		TimeoutScale:         c.timeoutScale,
		InUserNamespace:      c.Host.Rootless,
	}
}

// updateHosts rewrites /etc/hosts (and the entrypoint's copy) in every
// running node but skip, after a node was added or removed.
func (c *Cluster) updateHosts(ctx context.Context, skip string) error {
	hosts, err := c.hostsFile(ctx)
	if err != nil {
		return err
	}
	var nodes []*Node
	for _, n := range c.Nodes {
		if n.Name != skip {
			nodes = append(nodes, n)
		}
	}
	return parallel(nodes, func(n *Node) error {
		for _, path := range []string{"/etc/hosts", kincHostsPath} {
			if err := c.Provider.WriteFile(ctx, n.Name, path, []byte(hosts), 0o644); err != nil {
				return fmt.Errorf("node %s: write %s: %w", n.Name, path, err)
			}
		}
		return nil
	})
}

// hostsFile lets nodes resolve each other (and the load balancer) by name on
// every runtime, whether or not its networks run a DNS server.
func (c *Cluster) hostsFile(ctx context.Context) (string, error) {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "%s\t%s\n", n.IP, n.Name)
	}
	if c.LoadBalancerNeeded() {
		ip := c.LoadBalancerIP
		if ip == "" {
			var err error
			ip, err = c.Provider.ContainerIP(ctx, LoadBalancerName(c.Name), c.Network)
			if c.dryRun && err != nil {
				ip, err = "<IP of "+LoadBalancerName(c.Name)+">", nil
			}
			if err != nil {
				return "", fmt.Errorf("load balancer: %w", err)
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, LoadBalancerName(c.Name))
	}
	return b.String(), nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var res []string
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			res = append(res, s)
		}
	}
	return res
}

// slowProbePatches stretch the probes kubeadm gives the control plane's
// static pods (liveness: 15 s timeout, 8 failures; startup: 15 s, 24
// failures; readiness of etcd and kube-apiserver: 15 s) by the timeout scale: in a TCG VM on a busy
// host the kubelet killed a healthy but slow etcd and kube-apiserver again
// and again once their probes timed out. None at scale 1.
func slowProbePatches(scale float64) map[string]string {
	if scale <= 1 {
		return nil
	}
	n := func(v int) int { return int(float64(v)*scale + 0.5) }
	patches := map[string]string{}
	for _, target := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		patches[target] = fmt.Sprintf(`spec:
  containers:
  - name: %s
    livenessProbe:
      timeoutSeconds: %d
      failureThreshold: %d
    startupProbe:
      timeoutSeconds: %d
      failureThreshold: %d
`, target, n(15), n(8), n(15), n(24))
	}
	// Only patch a readiness probe the manifest has: a patched-in probe
	// without a handler makes the pod invalid (kube-controller-manager has
	// none, and then never started: seen on this host).
	for _, target := range []string{"etcd", "kube-apiserver"} {
		patches[target] += fmt.Sprintf("    readinessProbe:\n      timeoutSeconds: %d\n", n(15))
	}
	return patches
}

// workerKubeletPatch makes a worker's kubelet wait for its client
// certificate before it starts. With rotation on (kubeadm sets it, whatever
// the KubeletConfiguration says) the kubelet starts at once and talks to the
// API server anonymously until the certificate is signed: every informer
// fails and backs off, and its pods wait, up to ~20 s, for the Services
// list. Without rotation the certificate is good for a year
// (--cluster-signing-duration), longer than a kinc cluster lives. Not on
// joining control planes: their kubelet bootstraps against the local API
// server, which only that kubelet can start.
const workerKubeletPatch = `rotateCertificates: false
`

// corednsPatch makes the kubelet probe coredns' readiness every second
// instead of every 10: `create --wait` waits for coredns, and with the
// default period it sat Ready-but-unprobed for up to 10 s.
const corednsPatch = `spec:
  template:
    spec:
      containers:
      - name: coredns
        readinessProbe:
          periodSeconds: 1
`
