package spec

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// KindAPIVersion is the kind configuration FromKind reads.
const KindAPIVersion = "kind.x-k8s.io/v1alpha4"

// FromKind converts a kind Cluster configuration (kind.x-k8s.io/v1alpha4
// YAML) into a kinc spec: name, nodes (role, image, labels, extraMounts,
// extraPortMappings), networking, featureGates, runtimeConfig and the
// KubeletConfiguration documents of kubeadmConfigPatches. Whatever has no
// kinc equivalent is an error naming its YAML path, never dropped; every
// such problem is reported at once. The result has the defaults filled in
// and is validated.
func FromKind(filename string, data []byte) (*Cluster, error) {
	var doc map[string]any
	j, err := yaml.YAMLToJSON(data)
	if err == nil {
		err = json.Unmarshal(j, &doc)
	}
	if err != nil {
		return nil, &Error{File: filename, Msg: fmt.Sprintf("not a kind configuration (YAML): %v", err)}
	}
	k := &kindConverter{p: &problems{src: &source{name: filename, lines: map[string]int{}}}, c: &Cluster{}}
	k.cluster(doc)
	if err := k.p.err(); err != nil {
		return nil, err
	}
	k.c.SetDefaults()
	if err := k.c.Validate(); err != nil {
		return nil, fmt.Errorf("the converted spec is not valid:\n%w", err)
	}
	return k.c, nil
}

type kindConverter struct {
	p *problems
	c *Cluster
}

// noEquivalent records a kind field kinc cannot express.
func (k *kindConverter) noEquivalent(path, why string) {
	k.p.addf(path, "no kinc equivalent: %s", why)
}

// fields calls fn for every key of m that handled lists, and reports every
// other key at path as having no equivalent (with why[key] when known).
func (k *kindConverter) fields(path string, m map[string]any, handled []string, why map[string]string, fn func(key string, v any)) {
	for _, key := range slices.Sorted(maps.Keys(m)) {
		p := key
		if path != "" {
			p = path + "." + key
		}
		if slices.Contains(handled, key) {
			fn(key, m[key])
			continue
		}
		reason := why[key]
		if reason == "" {
			reason = "unknown field: kind v1alpha4 has no such field (a typo?)"
		}
		k.noEquivalent(p, reason)
	}
}

func (k *kindConverter) str(path string, v any) string {
	s, ok := v.(string)
	if !ok {
		k.p.addf(path, "want a string, got %v", v)
	}
	return s
}

func (k *kindConverter) integer(path string, v any) int {
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) {
		k.p.addf(path, "want an integer, got %v", v)
	}
	return int(f)
}

func (k *kindConverter) boolean(path string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		k.p.addf(path, "want true or false, got %v", v)
	}
	return b
}

func (k *kindConverter) object(path string, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		k.p.addf(path, "want a mapping, got %v", v)
	}
	return m
}

func (k *kindConverter) list(path string, v any) []any {
	l, ok := v.([]any)
	if !ok {
		k.p.addf(path, "want a list, got %v", v)
	}
	return l
}

func (k *kindConverter) cluster(doc map[string]any) {
	if doc["kind"] != "Cluster" || doc["apiVersion"] != KindAPIVersion {
		k.p.addf("", "not a kind cluster configuration: want kind: Cluster and apiVersion: %s, got kind: %v, apiVersion: %v", KindAPIVersion, doc["kind"], doc["apiVersion"])
		return
	}
	k.fields("", doc, []string{"kind", "apiVersion", "name", "featureGates", "runtimeConfig", "networking", "nodes", "kubeadmConfigPatches"},
		map[string]string{
			"kubeadmConfigPatchesJSON6902":    "kinc's kubeadm_patches patch components (kube-apiserver, etcd, ...), not kubeadm's configuration documents",
			"containerdConfigPatches":         "kinc's nodes run containerd with kinc's own configuration",
			"containerdConfigPatchesJSON6902": "kinc's nodes run containerd with kinc's own configuration",
		},
		func(key string, v any) {
			switch key {
			case "name":
				k.c.Name = k.str(key, v)
			case "featureGates":
				k.c.FeatureGates = map[string]bool{}
				for name, on := range k.object(key, v) {
					k.c.FeatureGates[name] = k.boolean(key+"."+name, on)
				}
			case "runtimeConfig":
				k.c.RuntimeConfig = map[string]string{}
				for name, val := range k.object(key, v) {
					k.c.RuntimeConfig[name] = k.str(key+"."+name, val)
				}
			case "networking":
				k.networking(k.object(key, v))
			case "nodes":
				for i, n := range k.list(key, v) {
					k.node(fmt.Sprintf("nodes[%d]", i), k.object(fmt.Sprintf("nodes[%d]", i), n))
				}
			case "kubeadmConfigPatches":
				for i, p := range k.list(key, v) {
					k.kubeadmPatch(fmt.Sprintf("kubeadmConfigPatches[%d]", i), p)
				}
			}
		})
}

func (k *kindConverter) networking(m map[string]any) {
	n := &k.c.Networking
	k.fields("networking", m, []string{"ipFamily", "apiServerAddress", "apiServerPort", "podSubnet", "serviceSubnet", "disableDefaultCNI", "kubeProxyMode"},
		map[string]string{"dnsSearch": "kinc nodes use the host's resolvers"},
		func(key string, v any) {
			path := "networking." + key
			switch key {
			case "ipFamily":
				n.IPFamily = k.str(path, v)
			case "apiServerAddress":
				n.APIServerAddress = k.str(path, v)
			case "apiServerPort":
				n.APIServerPort = k.integer(path, v)
			case "podSubnet":
				n.PodSubnet = k.str(path, v)
			case "serviceSubnet":
				n.ServiceSubnet = k.str(path, v)
			case "disableDefaultCNI":
				n.DisableDefaultCNI = k.boolean(path, v)
			case "kubeProxyMode":
				n.KubeProxyMode = k.str(path, v)
			}
		})
}

var kindPropagation = map[string]string{"None": "none", "HostToContainer": "host_to_container", "Bidirectional": "bidirectional"}

func (k *kindConverter) node(path string, m map[string]any) {
	var n Node
	k.fields(path, m, []string{"role", "image", "labels", "extraMounts", "extraPortMappings"},
		map[string]string{
			"kubeadmConfigPatches":         "kinc's kubeadm_patches apply to every node running the target, not to one node",
			"kubeadmConfigPatchesJSON6902": "kinc's kubeadm_patches apply to every node running the target, not to one node",
		},
		func(key string, v any) {
			p := path + "." + key
			switch key {
			case "role":
				n.Role = k.str(p, v)
			case "image":
				n.Image = k.str(p, v)
				if strings.HasPrefix(n.Image, "kindest/") {
					k.noEquivalent(p, fmt.Sprintf("%s is a kind node image; kinc nodes boot kinc's own image: leave image out (kinc build node-image makes it)", n.Image))
				}
			case "labels":
				n.Labels = map[string]string{}
				for lk, lv := range k.object(p, v) {
					n.Labels[lk] = k.str(p+"."+lk, lv)
				}
			case "extraMounts":
				for i, item := range k.list(p, v) {
					mp := fmt.Sprintf("%s[%d]", p, i)
					var mount Mount
					k.fields(mp, k.object(mp, item), []string{"hostPath", "containerPath", "readOnly", "propagation"},
						map[string]string{"selinuxRelabel": "kinc nodes run with SELinux labelling disabled (label=disable)"},
						func(key string, v any) {
							switch key {
							case "hostPath":
								mount.HostPath = k.str(mp+"."+key, v)
							case "containerPath":
								mount.ContainerPath = k.str(mp+"."+key, v)
							case "readOnly":
								mount.ReadOnly = k.boolean(mp+"."+key, v)
							case "propagation":
								s := k.str(mp+"."+key, v)
								if mount.Propagation = kindPropagation[s]; mount.Propagation == "" {
									k.p.addf(mp+"."+key, "%q is not a kind propagation: use None, HostToContainer or Bidirectional", s)
								}
							}
						})
					n.ExtraMounts = append(n.ExtraMounts, mount)
				}
			case "extraPortMappings":
				for i, item := range k.list(p, v) {
					pp := fmt.Sprintf("%s[%d]", p, i)
					var pm PortMapping
					k.fields(pp, k.object(pp, item), []string{"containerPort", "hostPort", "listenAddress", "protocol"}, nil,
						func(key string, v any) {
							switch key {
							case "containerPort":
								pm.ContainerPort = k.integer(pp+"."+key, v)
							case "hostPort":
								pm.HostPort = k.integer(pp+"."+key, v)
							case "listenAddress":
								pm.ListenAddress = k.str(pp+"."+key, v)
							case "protocol":
								pm.Protocol = strings.ToLower(k.str(pp+"."+key, v))
							}
						})
					n.ExtraPortMappings = append(n.ExtraPortMappings, pm)
				}
			}
		})
	k.c.Nodes = append(k.c.Nodes, n)
}

// kubeadmPatch converts one of kind's kubeadmConfigPatches: a kubeadm
// configuration document merged into kind's. Only a KubeletConfiguration
// has a kinc equivalent (a merge patch on the kubeletconfiguration target).
func (k *kindConverter) kubeadmPatch(path string, v any) {
	text := k.str(path, v)
	var doc map[string]any
	j, err := yaml.YAMLToJSON([]byte(text))
	if err == nil {
		err = json.Unmarshal(j, &doc)
	}
	if err != nil || doc == nil {
		k.p.addf(path, "not a YAML document: %v", err)
		return
	}
	kind, _ := doc["kind"].(string)
	if kind != "KubeletConfiguration" {
		k.noEquivalent(path, fmt.Sprintf("a %s patch changes kubeadm's own configuration; kinc's kubeadm_patches patch what kubeadm generates "+
			"(kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kubeletconfiguration, corednsdeployment): "+
			"write it as a [[kubeadm_patches]] of the component instead", kindOr(kind)))
		return
	}
	delete(doc, "kind")
	delete(doc, "apiVersion")
	out, err := yaml.Marshal(doc)
	if err != nil {
		k.p.addf(path, "%v", err)
		return
	}
	k.c.KubeadmPatches = append(k.c.KubeadmPatches, KubeadmPatch{Target: "kubeletconfiguration", Type: "merge", Patch: string(out)})
}

func kindOr(kind string) string {
	if kind == "" {
		return "kubeadm configuration (no kind)"
	}
	return kind
}
