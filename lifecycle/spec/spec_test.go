package spec

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
)

var update = flag.Bool("update", false, "rewrite testdata/specs/good/*.golden")

const specsDir = "../../testdata/specs"

// problemsOf lists the Errors in an error from Parse or Validate.
func problemsOf(t *testing.T, err error) []*Error {
	t.Helper()
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []*Error
		for _, e := range merr.Errors {
			var pe *Error
			if !errors.As(e, &pe) {
				t.Fatalf("problem %v is a %T, not an *Error", e, e)
			}
			out = append(out, pe)
		}
		return out
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is a %T, not an *Error", err, err)
	}
	return []*Error{pe}
}

func parseFixture(t *testing.T, path string) (*Cluster, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(filepath.Base(path), data)
}

func countRoles(c *Cluster) (controlPlanes, workers int) {
	for _, n := range c.Nodes {
		if n.Role == RoleControlPlane {
			controlPlanes++
		} else {
			workers++
		}
	}
	return controlPlanes, workers
}

func TestGoodSpecs(t *testing.T) {
	want := map[string]struct {
		name                   string
		controlPlanes, workers int
		check                  func(t *testing.T, c *Cluster)
	}{
		"empty.toml":   {name: DefaultName, controlPlanes: 1},
		"minimal.toml": {name: "dev", controlPlanes: 1},
		"workers.toml": {name: "three", controlPlanes: 1, workers: 2},
		"ha.toml": {name: "ha", controlPlanes: 3, workers: 1, check: func(t *testing.T, c *Cluster) {
			if c.Networking.APIServerPort != 6443 {
				t.Errorf("api_server_port = %d, want 6443", c.Networking.APIServerPort)
			}
		}},
		"inline.toml": {name: "inline", controlPlanes: 2, workers: 1, check: func(t *testing.T, c *Cluster) {
			if c.Networking.KubeProxyMode != "nftables" || !c.FeatureGates["InPlacePodVerticalScaling"] {
				t.Errorf("dotted key or inline table lost: %+v %v", c.Networking, c.FeatureGates)
			}
			pm := c.Nodes[1].ExtraPortMappings[0]
			if pm != (PortMapping{ContainerPort: 53, HostPort: 5353, ListenAddress: DefaultListenAddress, Protocol: "udp"}) {
				t.Errorf("port mapping = %+v", pm)
			}
			if c.Nodes[0].Labels["example.com/zone"] != "a" {
				t.Errorf("labels = %v", c.Nodes[0].Labels)
			}
		}},
		"full.toml": {name: "full", controlPlanes: 1, workers: 1, check: func(t *testing.T, c *Cluster) {
			if len(c.Nodes[0].ExtraMounts) != 2 || !c.Nodes[0].ExtraMounts[0].ReadOnly || c.Nodes[0].ExtraMounts[1].Propagation != "bidirectional" {
				t.Errorf("mounts = %+v", c.Nodes[0].ExtraMounts)
			}
			if got := c.Nodes[1].ExtraPortMappings[1].Protocol; got != DefaultProtocol {
				t.Errorf("default protocol = %q", got)
			}
			if len(c.KubeadmPatches) != 2 || !strings.Contains(c.KubeadmPatches[0].Patch, "cpu: 100m") || c.KubeadmPatches[1].Type != "merge" {
				t.Errorf("patches = %+v", c.KubeadmPatches)
			}
			if c.RuntimeConfig["api/alpha"] != "false" || c.FeatureGates["ImageVolume"] {
				t.Errorf("runtime_config %v feature_gates %v", c.RuntimeConfig, c.FeatureGates)
			}
		}},
	}
	files, _ := filepath.Glob(filepath.Join(specsDir, "good", "*.toml"))
	if len(files) < len(want) {
		t.Fatalf("found %d good specs, want at least %d", len(files), len(want))
	}
	for _, path := range files {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			c, err := parseFixture(t, path)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w, ok := want[base]
			if !ok {
				t.Fatalf("no expectations for %s in the table", base)
			}
			if c.Name != w.name {
				t.Errorf("name = %q, want %q", c.Name, w.name)
			}
			if cp, wk := countRoles(c); cp != w.controlPlanes || wk != w.workers {
				t.Errorf("%d control planes and %d workers, want %d and %d", cp, wk, w.controlPlanes, w.workers)
			}
			if w.check != nil {
				w.check(t, c)
			}
			// The spec with defaults filled in, as `kinc spec validate` prints it.
			out, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantOut, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(out) != string(wantOut) {
				t.Errorf("encoded spec differs from %s:\n%s", golden, out)
			}
			again, err := Parse(base, out)
			if err != nil {
				t.Fatalf("re-parse encoded spec: %v", err)
			}
			again.src, c.src = nil, nil
			if !reflect.DeepEqual(again, c) {
				t.Errorf("re-parsed spec differs:\n%+v\n%+v", again, c)
			}
		})
	}
}

// TestBadSpecs: every bad spec fails with exactly the problems listed in the
// .err file next to it, one substring per line, each matching one problem.
func TestBadSpecs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(specsDir, "bad", "*.toml"))
	if len(files) < 12 {
		t.Fatalf("found %d bad specs, want at least 12", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			wantData, err := os.ReadFile(strings.TrimSuffix(path, ".toml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimRight(string(wantData), "\n"), "\n")
			_, err = parseFixture(t, path)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			got := problemsOf(t, err)
			if len(got) != len(want) {
				t.Errorf("%d problems, want %d:\n%v", len(got), len(want), err)
			}
			used := make([]bool, len(got))
			for _, w := range want {
				found := false
				for i, g := range got {
					if !used[i] && strings.Contains(g.Error(), w) {
						used[i], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("no problem matches %q in:\n%v", w, err)
				}
			}
			for _, g := range got {
				if g.File != filepath.Base(path) || g.Line == 0 {
					t.Errorf("problem %q does not name the file and line", g)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Default()
	want := &Cluster{
		Name:              "kinc",
		KubernetesVersion: "v1.34.4",
		Networking: Networking{
			APIServerAddress: "127.0.0.1",
			PodSubnet:        "10.244.0.0/16",
			ServiceSubnet:    "10.96.0.0/16",
			IPFamily:         "ipv4",
			KubeProxyMode:    "iptables",
		},
		Nodes: []Node{{Role: RoleControlPlane}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("default cluster does not validate: %v", err)
	}

	c = &Cluster{
		Nodes:          []Node{{ExtraMounts: []Mount{{HostPath: "/a", ContainerPath: "/b"}}, ExtraPortMappings: []PortMapping{{ContainerPort: 80}}}, {Role: RoleWorker}},
		KubeadmPatches: []KubeadmPatch{{Target: "etcd", Patch: "x: y"}},
		FeatureGates:   map[string]bool{},
	}
	c.SetDefaults()
	if r := c.Nodes[0].Role; r != RoleControlPlane {
		t.Errorf("listed node's default role = %q, want %q", r, RoleControlPlane)
	}
	if r := c.Nodes[1].Role; r != RoleWorker {
		t.Errorf("given role overwritten: %q", r)
	}
	if p := c.Nodes[0].ExtraMounts[0].Propagation; p != "none" {
		t.Errorf("propagation = %q", p)
	}
	if pm := c.Nodes[0].ExtraPortMappings[0]; pm.Protocol != "tcp" || pm.ListenAddress != "0.0.0.0" || pm.HostPort != 0 {
		t.Errorf("port mapping = %+v", pm)
	}
	if tp := c.KubeadmPatches[0].Type; tp != "strategic" {
		t.Errorf("patch type = %q", tp)
	}
	if c.FeatureGates != nil {
		t.Errorf("empty feature_gates not normalized to nil")
	}
	if c.Nodes[0].Image != "" {
		t.Errorf("image defaulted to %q; the lifecycle chooses it", c.Nodes[0].Image)
	}
}

// TestValidateInGo: a Cluster built in Go has no file, but every problem
// still names its key.
func TestValidateInGo(t *testing.T) {
	c := Default()
	c.Nodes = append(c.Nodes, Node{Role: "boss"})
	c.Networking.ServiceSubnet = "10.244.0.0/20"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	var got []string
	for _, p := range problemsOf(t, err) {
		got = append(got, p.Error())
	}
	want := []string{
		`networking.service_subnet: 10.244.0.0/20 overlaps pod_subnet 10.244.0.0/16: the two must be disjoint`,
		`nodes[1].role: "boss" is not a role: use "control-plane" or "worker"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%q\nwant\n%q", got, want)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(filepath.Join(specsDir, "good", "ha.toml"))
	if err != nil || c.Name != "ha" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	_, err = Load(filepath.Join(specsDir, "bad", "bad-name.toml"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(specsDir, "bad", "bad-name.toml")+":1: name: ") {
		t.Errorf("Load of a bad spec: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestKeyPaths(t *testing.T) {
	for _, tc := range []struct{ key, parent string }{
		{"name", ""},
		{"nodes[1]", "nodes"},
		{"nodes[1].extra_mounts[0].host_path", "nodes[1].extra_mounts[0]"},
		{`nodes[0].labels."app.kubernetes.io/name"`, "nodes[0].labels"},
		{`feature_gates."a\"b.c"`, "feature_gates"},
		{`"x.y"`, ""},
	} {
		if got := parentKey(tc.key); got != tc.parent {
			t.Errorf("parentKey(%q) = %q, want %q", tc.key, got, tc.parent)
		}
	}
	if got := child(child(index("nodes", 0), "labels"), "app.kubernetes.io/name"); got != `nodes[0].labels."app.kubernetes.io/name"` {
		t.Errorf("child = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join(specsDir, dir, "*.toml"))
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		out, err := c.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		again, err := Parse("fuzz.toml", out)
		if err != nil {
			t.Fatalf("re-parse of encoded spec: %v\n%s", err, out)
		}
		again.src, c.src = nil, nil
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the spec:\n%#v\n%#v\n%s", c, again, out)
		}
	})
}

// TestReadmeExample: the commented spec in README.md is valid and uses
// every key.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```toml\n")
	if !ok {
		t.Fatal("README.md has no ```toml block")
	}
	example, _, _ := strings.Cut(rest, "```")
	c, err := Parse("README.md", []byte(example))
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	src := c.src
	for _, key := range []string{
		"name", "kubernetes_version", "feature_gates", "runtime_config",
		"networking.api_server_address", "networking.api_server_port", "networking.pod_subnet",
		"networking.service_subnet", "networking.ip_family", "networking.disable_default_cni",
		"networking.kube_proxy_mode", "nodes[0].role", "nodes[0].image", "nodes[0].labels",
		"nodes[0].extra_mounts[0].host_path", "nodes[0].extra_mounts[0].container_path",
		"nodes[0].extra_mounts[0].read_only", "nodes[0].extra_mounts[0].propagation",
		"nodes[0].extra_port_mappings[0].container_port", "nodes[0].extra_port_mappings[0].host_port",
		"nodes[0].extra_port_mappings[0].listen_address", "nodes[0].extra_port_mappings[0].protocol",
		"kubeadm_patches[0].target", "kubeadm_patches[0].type", "kubeadm_patches[0].patch",
	} {
		if _, ok := src.lines[key]; !ok {
			t.Errorf("README example lacks %s", key)
		}
	}
}
