// Package manifests renders the Kubernetes manifests of kinc's add-ons: the
// kincnet CNI and the local-path storage provisioner with its default
// StorageClass.
//
// Every manifest is a JSON v1 List (valid input for `kubectl apply -f -`),
// rendered from a text/template embedded in the binary. Values enter the
// templates only through the json function, so they are always correctly
// quoted, and Render checks that the result is valid JSON.
package manifests

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates/*.json.tmpl
var templates embed.FS

// Template names for Render.
const (
	KincNetManifest = "kincnet"
	StorageManifest = "storage"
)

// Defaults of the storage add-on.
const (
	StorageClassName = "standard"
	ProvisionerName  = "kinc.dev/local-path"
	VolumeDir        = "/var/local-path-provisioner"
)

// KincNetConfig parameterizes the kincnet manifest.
type KincNetConfig struct {
	// Image is the kincnet image, already loaded into every node (required).
	Image string
	// PodSubnet is the cluster's pod subnet, e.g. 10.244.0.0/16; several
	// comma-separated for dual stack (required).
	PodSubnet string
	// ServiceSubnet is the cluster's service subnet: kincnet refuses its
	// addresses at the node when no proxy rule took them (optional).
	ServiceSubnet string
	// APIServerHost and APIServerPort, if set, make kincnet talk to this
	// API server endpoint instead of the kubernetes Service (optional).
	APIServerHost string
	APIServerPort int
}

// StorageConfig parameterizes the storage manifest.
type StorageConfig struct {
	// Image is the provisioner image, already loaded into every node (required).
	Image string
	// ClassName, ProvisionerName and VolumeDir default to StorageClassName,
	// ProvisionerName and VolumeDir.
	ClassName       string
	ProvisionerName string
	VolumeDir       string
}

// Names lists the manifests Render knows.
func Names() []string {
	entries, _ := templates.ReadDir("templates")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".json.tmpl"))
	}
	sort.Strings(out)
	return out
}

// Render executes the manifest template name with data and returns the
// indented JSON. Prefer KincNet and StorageProvisioner, which validate their
// input.
func Render(name string, data any) ([]byte, error) {
	src, err := templates.ReadFile("templates/" + name + ".json.tmpl")
	if err != nil {
		return nil, fmt.Errorf("manifest %q: unknown (have %s)", name, strings.Join(Names(), ", "))
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	var raw bytes.Buffer
	if err := t.Execute(&raw, data); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("manifest %s: rendered invalid JSON: %w", name, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// KincNet renders the kincnet CNI: ServiceAccount, ClusterRole (nodes: get,
// list, watch), ClusterRoleBinding and the DaemonSet, all in kube-system.
func KincNet(c KincNetConfig) ([]byte, error) {
	if err := checkImage(c.Image); err != nil {
		return nil, fmt.Errorf("kincnet: %w", err)
	}
	if c.PodSubnet == "" {
		return nil, fmt.Errorf("kincnet: pod subnet missing")
	}
	for _, s := range strings.Split(c.PodSubnet, ",") {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(s)); err != nil {
			return nil, fmt.Errorf("kincnet: pod subnet %q: %w", c.PodSubnet, err)
		}
	}
	if c.APIServerHost != "" && (c.APIServerPort < 1 || c.APIServerPort > 65535) {
		return nil, fmt.Errorf("kincnet: API server port %d out of range", c.APIServerPort)
	}
	return Render(KincNetManifest, c)
}

// StorageProvisioner renders the storage add-on: ServiceAccount, ClusterRole,
// ClusterRoleBinding, the provisioner DaemonSet (kube-system) and the default
// StorageClass.
func StorageProvisioner(c StorageConfig) ([]byte, error) {
	if err := checkImage(c.Image); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if c.ClassName == "" {
		c.ClassName = StorageClassName
	}
	if c.ProvisionerName == "" {
		c.ProvisionerName = ProvisionerName
	}
	if c.VolumeDir == "" {
		c.VolumeDir = VolumeDir
	}
	if !strings.HasPrefix(c.VolumeDir, "/") {
		return nil, fmt.Errorf("storage: volume directory %q must be absolute", c.VolumeDir)
	}
	return Render(StorageManifest, c)
}

func checkImage(image string) error {
	if image == "" {
		return fmt.Errorf("image missing")
	}
	if strings.ContainsAny(image, " \t\r\n\"'") {
		return fmt.Errorf("image %q: not an image reference", image)
	}
	return nil
}
