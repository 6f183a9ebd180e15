package spec

import (
	"fmt"
	"maps"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Allowed values.
var (
	roles          = []string{RoleControlPlane, RoleWorker}
	propagations   = []string{"none", "host_to_container", "bidirectional"}
	protocols      = []string{"tcp", "udp", "sctp"}
	kubeProxyModes = []string{"iptables", "ipvs", "nftables", "none"}
	patchTargets   = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubeletconfiguration", "corednsdeployment"}
	patchTypes     = []string{"strategic", "merge", "json"}
)

const (
	maxNameLen = 50
	// nodeMaskSize is the size of the pod subnet each node gets
	// (kube-controller-manager's --node-cidr-mask-size for IPv4).
	nodeMaskSize = 24
	// minServiceMask: kube-apiserver refuses IPv4 service ranges larger
	// than a /12.
	minServiceMask = 12
)

var (
	nameRE        = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	versionRE     = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	featureGateRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	labelNameRE   = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
	dnsLabelRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	runtimeKeyRE  = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_./]*$`)
)

// Validate checks the whole spec (with defaults filled in, see SetDefaults)
// and reports every problem at once: an *Error, or a *multierror.Error of
// *Error, each naming the file, line and key when the Cluster came from a
// file, and the key otherwise.
func (c *Cluster) Validate() error {
	p := &problems{src: c.src}
	c.validate(p)
	return p.err()
}

func (c *Cluster) validate(p *problems) {
	c.validateCluster(p)
	c.Networking.validate(p, len(c.Nodes))
	c.validateNodes(p)
	c.validatePatches(p)
}

// CheckName says why name cannot be a cluster name (nil when it can).
func CheckName(name string) error {
	if !nameRE.MatchString(name) || len(name) > maxNameLen {
		return fmt.Errorf("%q is not a valid cluster name: use lowercase letters, digits and '-', start with a letter, end with a letter or digit, at most %d characters", name, maxNameLen)
	}
	return nil
}

func (c *Cluster) validateCluster(p *problems) {
	if err := CheckName(c.Name); err != nil {
		p.addf("name", "%v", err)
	}
	if !versionRE.MatchString(c.KubernetesVersion) {
		p.addf("kubernetes_version", "%q is not a Kubernetes version: write vMAJOR.MINOR.PATCH, e.g. %s", c.KubernetesVersion, DefaultKubernetesVersion)
	}
	for _, name := range slices.Sorted(maps.Keys(c.FeatureGates)) {
		if !featureGateRE.MatchString(name) {
			p.addf(child("feature_gates", name), "%q is not a feature gate name: use letters and digits, starting with a letter (e.g. InPlacePodVerticalScaling)", name)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(c.RuntimeConfig)) {
		k := child("runtime_config", key)
		if !runtimeKeyRE.MatchString(key) {
			p.addf(k, "%q is not an API group/version or resource (e.g. \"api/all\" or \"batch/v2alpha1\"): use letters, digits, '-', '_', '.' and '/'", key)
		}
		if v := c.RuntimeConfig[key]; v == "" || strings.ContainsAny(v, ",= \t\n") {
			p.addf(k, "%q is not a runtime-config value: use e.g. \"true\" or \"false\" (no ',', '=' or spaces)", v)
		}
	}
}

func (n *Networking) validate(p *problems, nodes int) {
	const k = "networking"
	if _, err := netip.ParseAddr(n.APIServerAddress); err != nil {
		p.addf(child(k, "api_server_address"), "%q is not an IP address (e.g. %s)", n.APIServerAddress, DefaultAPIServerAddress)
	}
	if n.APIServerPort < 0 || n.APIServerPort > 65535 {
		p.addf(child(k, "api_server_port"), "%d is not a port: use 1-65535, or 0 for a free port chosen at create time", n.APIServerPort)
	}
	if n.IPFamily != DefaultIPFamily {
		if n.IPFamily == "ipv6" || n.IPFamily == "dual" {
			p.addf(child(k, "ip_family"), "%q is not supported yet: only \"ipv4\" is", n.IPFamily)
		} else {
			p.addf(child(k, "ip_family"), "%q is not an IP family: use \"ipv4\" (\"ipv6\" and \"dual\" are not supported yet)", n.IPFamily)
		}
	}
	pods, podsOK := subnet(p, child(k, "pod_subnet"), n.PodSubnet)
	if podsOK {
		room := 0 // node subnets in the pod subnet
		if pods.Bits() <= nodeMaskSize {
			room = 1 << (nodeMaskSize - pods.Bits())
		}
		if room < nodes {
			p.addf(child(k, "pod_subnet"), "%s is too small: every node gets a /%d of it, so %d node(s) need a /%d or larger", n.PodSubnet, nodeMaskSize, nodes, nodeMaskSize-bitsFor(nodes))
		}
	}
	services, servicesOK := subnet(p, child(k, "service_subnet"), n.ServiceSubnet)
	if servicesOK && services.Bits() < minServiceMask {
		p.addf(child(k, "service_subnet"), "%s is too large: the API server takes at most a /%d", n.ServiceSubnet, minServiceMask)
	}
	if podsOK && servicesOK && pods.Overlaps(services) {
		p.addf(child(k, "service_subnet"), "%s overlaps pod_subnet %s: the two must be disjoint", n.ServiceSubnet, n.PodSubnet)
	}
	if !oneOf(n.KubeProxyMode, kubeProxyModes) {
		p.addf(child(k, "kube_proxy_mode"), "%q is not a kube-proxy mode: use %s", n.KubeProxyMode, list(kubeProxyModes))
	}
}

// subnet parses an IPv4 network in CIDR notation.
func subnet(p *problems, key, s string) (netip.Prefix, bool) {
	pfx, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		p.addf(key, "%q is not a subnet in CIDR notation (e.g. 10.244.0.0/16)", s)
	case !pfx.Addr().Is4():
		p.addf(key, "%q is not an IPv4 subnet: ip_family ipv4 needs IPv4 subnets", s)
	case pfx.Masked() != pfx:
		p.addf(key, "%q is not a network address: did you mean %s?", s, pfx.Masked())
	default:
		return pfx, true
	}
	return netip.Prefix{}, false
}

// bitsFor is the number of bits needed to number n things.
func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

type hostPort struct {
	addr     netip.Addr
	port     int
	protocol string
}

func (c *Cluster) validateNodes(p *problems) {
	controlPlanes := 0
	bound := map[hostPort]string{} // host address+port+protocol -> key that binds it
	if n := c.Networking; n.APIServerPort > 0 {
		if a, err := netip.ParseAddr(n.APIServerAddress); err == nil {
			bound[hostPort{a, n.APIServerPort, "tcp"}] = "networking.api_server_port"
		}
	}
	for i, node := range c.Nodes {
		nk := index("nodes", i)
		switch node.Role {
		case RoleControlPlane:
			controlPlanes++
		case RoleWorker:
		default:
			p.addf(child(nk, "role"), "%q is not a role: use %s", node.Role, list(roles))
		}
		if node.Image != "" && (strings.HasPrefix(node.Image, "-") || strings.ContainsAny(node.Image, " \t\n")) {
			p.addf(child(nk, "image"), "%q is not an image reference (e.g. docker.io/library/kinc-node:v1.34.4)", node.Image)
		}
		for _, key := range slices.Sorted(maps.Keys(node.Labels)) {
			lk := child(child(nk, "labels"), key)
			if msg := labelKeyProblem(key); msg != "" {
				p.addf(lk, "%q is not a label key: %s", key, msg)
			}
			if v := node.Labels[key]; len(v) > 63 || !labelNameRE.MatchString(v) {
				p.addf(lk, "%q is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", v)
			}
		}
		mounted := map[string]string{}
		for j, m := range node.ExtraMounts {
			mk := index(child(nk, "extra_mounts"), j)
			for _, f := range []struct{ name, value string }{{"host_path", m.HostPath}, {"container_path", m.ContainerPath}} {
				switch {
				case f.value == "":
					p.addf(child(mk, f.name), "missing: an absolute path is required")
				case !path.IsAbs(f.value):
					p.addf(child(mk, f.name), "%q is not an absolute path", f.value)
				case strings.ContainsAny(f.value, ",:\n"):
					p.addf(child(mk, f.name), "%q: paths with ',', ':' or newlines cannot be mounted", f.value)
				}
			}
			if m.ContainerPath != "" {
				cp := path.Clean(m.ContainerPath)
				if other, ok := mounted[cp]; ok {
					p.addf(child(mk, "container_path"), "%q is already mounted by %s", m.ContainerPath, other)
				}
				mounted[cp] = mk
			}
			if !oneOf(m.Propagation, propagations) {
				p.addf(child(mk, "propagation"), "%q is not a mount propagation: use %s", m.Propagation, list(propagations))
			}
		}
		for j, pm := range node.ExtraPortMappings {
			pk := index(child(nk, "extra_port_mappings"), j)
			if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
				p.addf(child(pk, "container_port"), "%d is not a port: use 1-65535", pm.ContainerPort)
			}
			portOK := pm.HostPort >= 0 && pm.HostPort <= 65535
			if !portOK {
				p.addf(child(pk, "host_port"), "%d is not a port: use 1-65535, or 0 for a free port", pm.HostPort)
			}
			addr, err := netip.ParseAddr(pm.ListenAddress)
			if err != nil {
				p.addf(child(pk, "listen_address"), "%q is not an IP address (e.g. 0.0.0.0 for every address, 127.0.0.1 for this host only)", pm.ListenAddress)
			}
			protoOK := oneOf(pm.Protocol, protocols)
			if !protoOK {
				p.addf(child(pk, "protocol"), "%q is not a protocol: use %s", pm.Protocol, list(protocols))
			}
			if err == nil && portOK && protoOK && pm.HostPort != 0 {
				hp := hostPort{addr, pm.HostPort, pm.Protocol}
				if other := conflict(bound, hp); other != "" {
					p.addf(child(pk, "host_port"), "%s %s:%d is already bound by %s", pm.Protocol, pm.ListenAddress, pm.HostPort, other)
				} else {
					bound[hp] = pk
				}
			}
		}
	}
	if controlPlanes == 0 {
		p.addf("nodes", "no control-plane node: at least one node needs role = %q", RoleControlPlane)
	}
}

// conflict is the key that already binds hp, taking an unspecified address
// (0.0.0.0, ::) to bind every address.
func conflict(bound map[hostPort]string, hp hostPort) string {
	keys := make([]string, 0, 1)
	for b, key := range bound {
		if b.port == hp.port && b.protocol == hp.protocol &&
			(b.addr == hp.addr || b.addr.IsUnspecified() || hp.addr.IsUnspecified()) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// labelKeyProblem says what is wrong with a Kubernetes label key, or "".
func labelKeyProblem(key string) string {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if hasPrefix {
		if prefix == "" || len(prefix) > 253 {
			return "the prefix before '/' must be a DNS subdomain of at most 253 characters"
		}
		for _, l := range strings.Split(prefix, ".") {
			if len(l) > 63 || !dnsLabelRE.MatchString(l) {
				return "the prefix before '/' must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
			}
		}
	}
	if name == "" || len(name) > 63 || !labelNameRE.MatchString(name) {
		return "the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, after an optional DNS subdomain prefix and '/'"
	}
	return ""
}

func (c *Cluster) validatePatches(p *problems) {
	for i, patch := range c.KubeadmPatches {
		k := index("kubeadm_patches", i)
		if !oneOf(patch.Target, patchTargets) {
			p.addf(child(k, "target"), "%q is not a kubeadm patch target: use %s", patch.Target, list(patchTargets))
		}
		if !oneOf(patch.Type, patchTypes) {
			p.addf(child(k, "type"), "%q is not a patch type: use %s", patch.Type, list(patchTypes))
		}
		if strings.TrimSpace(patch.Patch) == "" {
			p.addf(child(k, "patch"), "missing: the patch document (YAML or JSON) is required")
		} else if oneOf(patch.Type, patchTypes) {
			if msg, line := checkPatch(patch.Type, patch.Patch); msg != "" {
				key := child(k, "patch")
				at := p.src.line(key)
				// A multi-line string starts on the line after the key.
				if line > 0 && at > 0 && strings.Contains(patch.Patch, "\n") {
					at += line
				}
				p.addAt(at, key, "%s", msg)
			}
		}
	}
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// list is "a, b or c", quoted.
func list(allowed []string) string {
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
