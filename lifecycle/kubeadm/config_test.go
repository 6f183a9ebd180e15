package kubeadm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderGolden(t *testing.T) {
	base := Cluster{
		Name:                 "kinc",
		KubernetesVersion:    "v1.34.4",
		ControlPlaneEndpoint: "kinc-control-plane:6443",
		CertSANs:             []string{"localhost", "127.0.0.1", "kinc-control-plane"},
		PodSubnet:            "10.244.0.0/16",
		ServiceSubnet:        "10.96.0.0/16",
		KubeProxyMode:        "iptables",
		Token:                "abcdef.0123456789abcdef",
		Tainted:              true,
		ResolvConf:           "/etc/kinc/resolv.conf",
	}
	single := base
	single.Tainted = false
	ha := base
	ha.ControlPlaneEndpoint = "ha-external-load-balancer:6443"
	ha.CertificateKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	ha.FeatureGates = map[string]bool{"InPlacePodVerticalScaling": true, "Alpha": false}
	ha.RuntimeConfig = map[string]string{"api/alpha": "false"}
	noProxy := base
	noProxy.KubeProxyMode = "none"
	slow := single
	slow.TimeoutScale = 10
	rootless := single
	rootless.InUserNamespace = true
	rootless.FeatureGates = map[string]bool{"InPlacePodVerticalScaling": true}

	cp := Node{Name: "kinc-control-plane", IP: "172.18.0.2", Role: "control-plane", Init: true}
	tests := []struct {
		golden  string
		cluster Cluster
		node    Node
	}{
		{"init-single.yaml", single, cp},
		{"init-tainted.yaml", base, Node{Name: "kinc-control-plane", IP: "172.18.0.2", Role: "control-plane", Init: true, Labels: map[string]string{"tier": "a", "disk": "ssd"}}},
		{"join-worker.yaml", base, Node{Name: "kinc-worker", IP: "172.18.0.3", Role: "worker"}},
		{"init-ha.yaml", ha, Node{Name: "ha-control-plane", IP: "10.89.0.2", Role: "control-plane", Init: true}},
		{"join-control-plane-ha.yaml", ha, Node{Name: "ha-control-plane2", IP: "10.89.0.3", Role: "control-plane"}},
		{"init-no-kube-proxy.yaml", noProxy, cp},
		{"init-slow.yaml", slow, cp},
		{"init-rootless.yaml", rootless, cp},
		{"join-worker-slow.yaml", slow, Node{Name: "kinc-worker", IP: "172.18.0.3", Role: "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := Render(tt.cluster, tt.node)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "testdata", "kubeadm", tt.golden)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./lifecycle/kubeadm -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered config differs from %s:\n%s", path, got)
			}
		})
	}
}

// A slow host's kubelet waits longer for each CRI call (in the TCG VM a
// container start took more than kubelet's default 2 min); a normal host's
// keeps kubelet's default.
func TestRenderRuntimeRequestTimeout(t *testing.T) {
	c := Cluster{Name: "kinc", KubernetesVersion: "v1.34.4", ControlPlaneEndpoint: "kinc-control-plane:6443"}
	cp := Node{Name: "kinc-control-plane", IP: "172.18.0.2", Role: "control-plane", Init: true}
	for _, tt := range []struct {
		scale float64
		want  string
	}{
		{0, ""},
		{1, ""},
		{2.5, `runtimeRequestTimeout: "5m0s"`},
		{10, `runtimeRequestTimeout: "20m0s"`},
	} {
		c.TimeoutScale = tt.scale
		got, err := Render(c, cp)
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(got, "runtimeRequestTimeout")
		if tt.want == "" && has {
			t.Errorf("scale %v: kubelet's runtimeRequestTimeout is set:\n%s", tt.scale, got)
		}
		if tt.want != "" && !strings.Contains(got, "\n"+tt.want+"\n") {
			t.Errorf("scale %v: no %q in:\n%s", tt.scale, tt.want, got)
		}
		// Only in the kubelet's configuration (kubeadm's InitConfiguration
		// would reject an unknown field).
		if has && strings.Index(got, "runtimeRequestTimeout") < strings.Index(got, "kind: KubeletConfiguration") {
			t.Errorf("scale %v: runtimeRequestTimeout outside KubeletConfiguration:\n%s", tt.scale, got)
		}
	}
}

// On a slow host the scheduler and controller manager keep their leases
// for longer (a leader that misses its renew deadline exits); a normal
// host's keep the defaults. The retry period is kinc's 500ms either way.
func TestRenderLeaderElection(t *testing.T) {
	c := Cluster{Name: "kinc", KubernetesVersion: "v1.34.4", ControlPlaneEndpoint: "kinc-control-plane:6443"}
	cp := Node{Name: "kinc-control-plane", IP: "172.18.0.2", Role: "control-plane", Init: true}
	for _, tt := range []struct {
		scale        float64
		lease, renew string
	}{
		{0, "", ""},
		{1, "", ""},
		{2.5, "38s", "25s"},
		{10, "2m30s", "1m40s"},
	} {
		c.TimeoutScale = tt.scale
		got, err := Render(c, cp)
		if err != nil {
			t.Fatal(err)
		}
		for _, section := range []string{"controllerManager:", "scheduler:"} {
			i := strings.Index(got, "\n"+section+"\n")
			if i < 0 {
				t.Fatalf("no %s in:\n%s", section, got)
			}
			// The section runs to the next top-level key.
			body := got[i+len(section)+2:]
			for k := 0; k < len(body); {
				if body[k] != ' ' && body[k] != '-' {
					body = body[:k]
					break
				}
				nl := strings.IndexByte(body[k:], '\n')
				if nl < 0 {
					break
				}
				k += nl + 1
			}
			if !strings.Contains(body, `name: "leader-elect-retry-period"`+"\n    value: \"500ms\"") {
				t.Errorf("scale %v: %s without kinc's retry period:\n%s", tt.scale, section, body)
			}
			for name, want := range map[string]string{"leader-elect-lease-duration": tt.lease, "leader-elect-renew-deadline": tt.renew} {
				has := strings.Contains(body, `name: "`+name+`"`)
				if want == "" && has {
					t.Errorf("scale %v: %s sets %s:\n%s", tt.scale, section, name, body)
				}
				if want != "" && !strings.Contains(body, `name: "`+name+`"`+"\n    value: \""+want+"\"") {
					t.Errorf("scale %v: %s: no %s %s in:\n%s", tt.scale, section, name, want, body)
				}
			}
		}
	}
}

func TestNewToken(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 23 || tok[6] != '.' {
		t.Fatalf("token %q is not of the form [a-z0-9]{6}.[a-z0-9]{16}", tok)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`a`: `"a"`, `a"b`: `"a\"b"`, `a\b`: `"a\\b"`, "a\nb": `"a\nb"`} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
