package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

// nodeJSON is a trimmed v1 Node as the API server returns it.
func nodeJSON(name, podCIDR, ip string) string {
	spec := "{}"
	if podCIDR != "" {
		spec = fmt.Sprintf(`{"podCIDR":%q,"podCIDRs":[%q],"providerID":"kinc://x"}`, podCIDR, podCIDR)
	}
	addrs := fmt.Sprintf(`[{"type":"Hostname","address":%q}]`, name)
	if ip != "" {
		addrs = fmt.Sprintf(`[{"type":"InternalIP","address":%q},{"type":"Hostname","address":%q}]`, ip, name)
	}
	return fmt.Sprintf(`{"metadata":{"name":%q,"labels":{"kubernetes.io/hostname":%q}},"spec":%s,"status":{"addresses":%s,"conditions":[]}}`,
		name, name, spec, addrs)
}

func nodeListJSON(nodes ...string) string {
	return `{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[` + strings.Join(nodes, ",") + `]}`
}

func parseNodes(t *testing.T, nodes ...string) []Node {
	t.Helper()
	var l NodeList
	if err := json.Unmarshal([]byte(nodeListJSON(nodes...)), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, c, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNodeParsing(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		wantCIDRs string
		wantIP4   string
	}{
		{name: "full", json: nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"), wantCIDRs: "10.244.0.0/24", wantIP4: "172.18.0.2"},
		{name: "no podCIDR yet", json: nodeJSON("w", "", "172.18.0.3"), wantCIDRs: "", wantIP4: "172.18.0.3"},
		{name: "no address yet", json: nodeJSON("w", "10.244.1.0/24", ""), wantCIDRs: "10.244.1.0/24", wantIP4: "<nil>"},
		{name: "only legacy podCIDR, not canonical", json: `{"metadata":{"name":"w"},"spec":{"podCIDR":"10.244.2.7/24"}}`, wantCIDRs: "10.244.2.0/24", wantIP4: "<nil>"},
		{name: "dual stack", json: `{"metadata":{"name":"w"},"spec":{"podCIDR":"10.244.3.0/24","podCIDRs":["10.244.3.0/24","fd00:10:244:3::/64"]},
			"status":{"addresses":[{"type":"InternalIP","address":"fc00::3"},{"type":"InternalIP","address":"172.18.0.4"}]}}`,
			wantCIDRs: "10.244.3.0/24,fd00:10:244:3::/64", wantIP4: "172.18.0.4"},
		{name: "garbage CIDR dropped", json: `{"metadata":{"name":"w"},"spec":{"podCIDRs":["nope","10.244.4.0/24"]}}`, wantCIDRs: "10.244.4.0/24", wantIP4: "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n Node
			if err := json.Unmarshal([]byte(tt.json), &n); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range n.PodCIDRs() {
				got = append(got, c.String())
			}
			if strings.Join(got, ",") != tt.wantCIDRs {
				t.Errorf("PodCIDRs = %v, want %s", got, tt.wantCIDRs)
			}
			if ip := n.InternalIP(true); ip.String() != tt.wantIP4 {
				t.Errorf("InternalIP(v4) = %v, want %s", ip, tt.wantIP4)
			}
		})
	}
}

func TestDesiredRoutes(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		self  string
		want  map[string]string
	}{
		{
			name: "three nodes",
			nodes: []string{
				nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"),
				nodeJSON("w1", "10.244.1.0/24", "172.18.0.3"),
				nodeJSON("w2", "10.244.2.0/24", "172.18.0.4"),
			},
			self: "w1",
			want: map[string]string{"10.244.0.0/24": "172.18.0.2", "10.244.2.0/24": "172.18.0.4"},
		},
		{
			name:  "single node: nothing",
			nodes: []string{nodeJSON("cp", "10.244.0.0/24", "172.18.0.2")},
			self:  "cp",
			want:  map[string]string{},
		},
		{
			name: "nodes without podCIDR or address are skipped",
			nodes: []string{
				nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"),
				nodeJSON("w1", "", "172.18.0.3"),
				nodeJSON("w2", "10.244.2.0/24", ""),
			},
			self: "cp",
			want: map[string]string{},
		},
		{
			name: "a CIDR overlapping our own is never routed away",
			nodes: []string{
				nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"),
				nodeJSON("w1", "10.244.0.0/24", "172.18.0.3"),
			},
			self: "cp",
			want: map[string]string{},
		},
		{
			name: "self without podCIDR still routes to others",
			nodes: []string{
				nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"),
				nodeJSON("w1", "", "172.18.0.3"),
			},
			self: "w1",
			want: map[string]string{"10.244.0.0/24": "172.18.0.2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desiredRoutes(parseNodes(t, tt.nodes...), tt.self)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDiffRoutes(t *testing.T) {
	tests := []struct {
		name             string
		desired, current map[string]string
		wantReplace      []Route
		wantDel          []string
	}{
		{name: "nothing", desired: map[string]string{}, current: map[string]string{}},
		{name: "in sync", desired: map[string]string{"10.244.1.0/24": "172.18.0.3"}, current: map[string]string{"10.244.1.0/24": "172.18.0.3"}},
		{
			name:        "new nodes",
			desired:     map[string]string{"10.244.2.0/24": "172.18.0.4", "10.244.1.0/24": "172.18.0.3"},
			current:     map[string]string{},
			wantReplace: []Route{{"10.244.1.0/24", "172.18.0.3"}, {"10.244.2.0/24", "172.18.0.4"}},
		},
		{
			name:        "node changed address",
			desired:     map[string]string{"10.244.1.0/24": "172.18.0.9"},
			current:     map[string]string{"10.244.1.0/24": "172.18.0.3"},
			wantReplace: []Route{{"10.244.1.0/24", "172.18.0.9"}},
		},
		{
			name:    "nodes gone",
			desired: map[string]string{"10.244.1.0/24": "172.18.0.3"},
			current: map[string]string{"10.244.1.0/24": "172.18.0.3", "10.244.3.0/24": "172.18.0.5", "10.244.2.0/24": "172.18.0.4"},
			wantDel: []string{"10.244.2.0/24", "10.244.3.0/24"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, del := diffRoutes(tt.desired, tt.current)
			if !reflect.DeepEqual(rep, tt.wantReplace) || !reflect.DeepEqual(del, tt.wantDel) {
				t.Fatalf("got replace %v del %v, want replace %v del %v", rep, del, tt.wantReplace, tt.wantDel)
			}
		})
	}
}

func TestRenderConflist(t *testing.T) {
	tests := []struct {
		name       string
		cidrs      []string
		mtu        int
		wantRanges string
		wantRoutes string
		wantErr    bool
	}{
		{name: "ipv4", cidrs: []string{"10.244.1.0/24"}, mtu: 1500, wantRanges: "10.244.1.0/24", wantRoutes: "0.0.0.0/0"},
		{name: "dual", cidrs: []string{"10.244.1.0/24", "fd00:10:244:1::/64"}, wantRanges: "10.244.1.0/24,fd00:10:244:1::/64", wantRoutes: "0.0.0.0/0,::/0"},
		{name: "none", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs []*net.IPNet
			for _, c := range tt.cidrs {
				cs = append(cs, cidr(t, c))
			}
			data, err := renderConflist("kincnet0", cs, tt.mtu)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				CNIVersion string `json:"cniVersion"`
				Name       string `json:"name"`
				Plugins    []struct {
					Type         string          `json:"type"`
					Bridge       string          `json:"bridge"`
					IsGateway    *bool           `json:"isGateway"`
					IPMasq       *bool           `json:"ipMasq"`
					MTU          int             `json:"mtu"`
					Capabilities map[string]bool `json:"capabilities"`
					IPAM         struct {
						Type   string `json:"type"`
						Ranges [][]struct {
							Subnet string `json:"subnet"`
						} `json:"ranges"`
						Routes []struct {
							Dst string `json:"dst"`
						} `json:"routes"`
					} `json:"ipam"`
				} `json:"plugins"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, data)
			}
			if got.CNIVersion == "" || got.Name != "kincnet" || len(got.Plugins) != 2 {
				t.Fatalf("bad conflist header or plugin count:\n%s", data)
			}
			br, pm := got.Plugins[0], got.Plugins[1]
			if br.Type != "bridge" || br.Bridge != "kincnet0" || br.IsGateway == nil || !*br.IsGateway || br.IPMasq == nil || *br.IPMasq {
				t.Errorf("bridge plugin wrong:\n%s", data)
			}
			if br.MTU != tt.mtu {
				t.Errorf("mtu %d, want %d", br.MTU, tt.mtu)
			}
			if br.IPAM.Type != "host-local" {
				t.Errorf("ipam type %q", br.IPAM.Type)
			}
			var ranges, routes []string
			for _, set := range br.IPAM.Ranges {
				for _, r := range set {
					ranges = append(ranges, r.Subnet)
				}
			}
			for _, r := range br.IPAM.Routes {
				routes = append(routes, r.Dst)
			}
			if strings.Join(ranges, ",") != tt.wantRanges || strings.Join(routes, ",") != tt.wantRoutes {
				t.Errorf("ranges %v routes %v, want %s and %s", ranges, routes, tt.wantRanges, tt.wantRoutes)
			}
			if pm.Type != "portmap" || !pm.Capabilities["portMappings"] {
				t.Errorf("portmap plugin wrong:\n%s", data)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d")
	path := filepath.Join(dir, "10-kincnet.conflist")
	for i, step := range []struct {
		data        string
		wantChanged bool
	}{{"a", true}, {"a", false}, {"b", true}} {
		changed, err := writeFileAtomic(path, []byte(step.data))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if changed != step.wantChanged || string(got) != step.data {
			t.Fatalf("step %d: changed %v content %q, want %v %q", i, changed, got, step.wantChanged, step.data)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", fi.Mode())
	}
}

func TestParseIPRouteJSON(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want map[string]string
	}{
		{name: "empty", out: "[]\n", want: map[string]string{}},
		{name: "no output", out: "", want: map[string]string{}},
		// Captured from iproute2 6.1: ip -j -4 route show proto 147
		{name: "real", out: `[{"dst":"10.244.1.0/24","gateway":"172.18.0.3","dev":"v0","flags":[]},{"dst":"10.244.2.0/24","gateway":"172.18.0.5","dev":"v0","flags":[]}]`,
			want: map[string]string{"10.244.1.0/24": "172.18.0.3", "10.244.2.0/24": "172.18.0.5"}},
		{name: "host route", out: `[{"dst":"10.1.2.3","gateway":"172.18.0.3","flags":[]}]`, want: map[string]string{"10.1.2.3/32": "172.18.0.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIPRouteJSON([]byte(tt.out))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := parseIPRouteJSON([]byte("10.244.1.0/24 via 172.18.0.3")); err == nil {
		t.Fatal("text output: want an error")
	}
}

func TestParseMTU(t *testing.T) {
	out := `[{"ifindex":1,"ifname":"lo","mtu":65536,"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
	{"ifindex":7,"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"172.18.0.3","prefixlen":16},{"family":"inet6","local":"fc00::3","prefixlen":64}]}]`
	if m, err := parseMTU([]byte(out), net.ParseIP("172.18.0.3")); err != nil || m != 1450 {
		t.Fatalf("got %d, %v; want 1450", m, err)
	}
	if _, err := parseMTU([]byte(out), net.ParseIP("172.18.0.9")); err == nil {
		t.Fatal("unknown address: want an error")
	}
}

// fakeHost simulates `ip` and `iptables` enough to check what kincnet runs
// and that a second pass changes nothing.
type fakeHost struct {
	routes map[string]string   // dst → via, proto 147
	chains map[string][]string // "iptables nat CHAIN" → rules
	log    []string            // mutating commands
	fail   string              // a command prefix that fails
	// unreachable lists the unreachable routes replaced, in order.
	unreachable []string
}

func newFakeHost() *fakeHost {
	return &fakeHost{routes: map[string]string{}, chains: map[string][]string{"iptables nat POSTROUTING": nil}}
}

func (h *fakeHost) run(name string, args ...string) ([]byte, error) {
	line := name + " " + strings.Join(args, " ")
	if h.fail != "" && strings.HasPrefix(line, h.fail) {
		return []byte("boom"), errors.New("exit status 1")
	}
	switch {
	case strings.HasPrefix(line, "ip -j -4 route show proto 147"):
		var rs []map[string]string
		for d, v := range h.routes {
			rs = append(rs, map[string]string{"dst": d, "gateway": v})
		}
		b, _ := json.Marshal(rs)
		return b, nil
	case strings.HasPrefix(line, "ip -j -4 route show proto 148"):
		var rs []map[string]string
		for _, u := range h.unreachable {
			dst, _, _ := strings.Cut(u, " ")
			rs = append(rs, map[string]string{"dst": dst, "type": "unreachable"})
		}
		b, _ := json.Marshal(rs)
		return b, nil
	case strings.HasPrefix(line, "ip -4 route replace unreachable ") || strings.HasPrefix(line, "ip -6 route replace unreachable "):
		h.unreachable = append(h.unreachable, args[4]+" proto "+args[6])
	case strings.HasPrefix(line, "ip route replace "):
		h.routes[args[2]] = args[4]
	case strings.HasPrefix(line, "ip route del "):
		if _, ok := h.routes[args[2]]; !ok {
			return []byte("RTNETLINK answers: No such process"), errors.New("exit status 2")
		}
		delete(h.routes, args[2])
	case strings.HasPrefix(line, "ip -j addr show"):
		return []byte(`[{"ifname":"eth0","mtu":1480,"addr_info":[{"local":"172.18.0.3"}]}]`), nil
	case name == "iptables" || name == "ip6tables":
		// args: -w 5 -t TABLE OP CHAIN [POSITION] [rule...]
		op, chain, rule := args[4], args[5], strings.Join(args[6:], " ")
		if op == "-I" {
			rule = strings.Join(args[7:], " ")
		}
		key := name + " " + args[3] + " " + chain
		rules, exists := h.chains[key]
		switch op {
		case "-L":
			if !exists {
				return []byte("No chain/target/match by that name."), errors.New("exit status 1")
			}
			return nil, nil
		case "-N":
			h.chains[key] = nil
		case "-C":
			for _, r := range rules {
				if r == rule {
					return nil, nil
				}
			}
			return []byte("Bad rule"), errors.New("exit status 1")
		case "-A":
			if !exists {
				return nil, errors.New("no chain")
			}
			h.chains[key] = append(rules, rule)
		case "-I":
			h.chains[key] = append([]string{rule}, rules...)
		}
	default:
		return nil, fmt.Errorf("unexpected command %q", line)
	}
	h.log = append(h.log, line)
	return nil, nil
}

func TestEnsureMasqueradeIdempotent(t *testing.T) {
	h := newFakeHost()
	own := []*net.IPNet{cidr(t, "10.244.1.0/24")}
	subnets := []*net.IPNet{cidr(t, "10.244.0.0/16")}
	added, err := ensureMasquerade(h.run, own, subnets)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 3 {
		t.Fatalf("first pass added %v, want chain, jump and rule", added)
	}
	wantRule := "-s 10.244.1.0/24 ! -d 10.244.0.0/16 -m comment --comment kincnet: pod traffic leaving the pod network -j MASQUERADE"
	if got := h.chains["iptables nat KINCNET-MASQ"]; len(got) != 1 || got[0] != wantRule {
		t.Fatalf("KINCNET-MASQ = %q, want [%q]", got, wantRule)
	}
	if got := h.chains["iptables nat POSTROUTING"]; len(got) != 1 || !strings.HasSuffix(got[0], "-j KINCNET-MASQ") {
		t.Fatalf("POSTROUTING = %q, want one jump to KINCNET-MASQ", got)
	}
	h.log = nil
	if added, err := ensureMasquerade(h.run, own, subnets); err != nil || len(added) != 0 || len(h.log) != 0 {
		t.Fatalf("second pass: added %v, err %v, commands %v; want nothing", added, err, h.log)
	}

	if _, err := ensureMasquerade(h.run, []*net.IPNet{cidr(t, "fd00::/64")}, subnets); err == nil {
		t.Fatal("IPv6 pod CIDR with only an IPv4 pod subnet: want an error")
	}
	h.fail = "iptables -w 5 -t nat -A"
	h.chains["iptables nat KINCNET-MASQ"] = nil
	if _, err := ensureMasquerade(h.run, own, subnets); err == nil {
		t.Fatal("failing iptables -A: want an error")
	}
}

func TestReconcilerApply(t *testing.T) {
	h := newFakeHost()
	dir := t.TempDir()
	cfg := config{
		nodeName:   "w1",
		podSubnets: []*net.IPNet{cidr(t, "10.244.0.0/16")},
		cniConfig:  filepath.Join(dir, "10-kincnet.conflist"),
		bridge:     "kincnet0",
	}
	r := &reconciler{cfg: cfg, exec: h.run}

	// Before the controller manager allocates our podCIDR: nothing is written.
	if err := r.apply(parseNodes(t, nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"), nodeJSON("w1", "", "172.18.0.3"))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.cniConfig); !os.IsNotExist(err) {
		t.Fatalf("CNI config written before podCIDR: %v", err)
	}
	if len(h.log) != 0 {
		t.Fatalf("commands before podCIDR: %v", h.log)
	}

	// Three nodes, and a stale route from a node that was deleted earlier.
	h.routes["10.244.9.0/24"] = "172.18.0.9"
	nodes := parseNodes(t,
		nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"),
		nodeJSON("w1", "10.244.1.0/24", "172.18.0.3"),
		nodeJSON("w2", "10.244.2.0/24", "172.18.0.4"))
	if err := r.apply(nodes); err != nil {
		t.Fatal(err)
	}
	wantRoutes := map[string]string{"10.244.0.0/24": "172.18.0.2", "10.244.2.0/24": "172.18.0.4"}
	if !reflect.DeepEqual(h.routes, wantRoutes) {
		t.Fatalf("routes %v, want %v", h.routes, wantRoutes)
	}
	data, err := os.ReadFile(cfg.cniConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"subnet": "10.244.1.0/24"`) || !strings.Contains(string(data), `"mtu": 1480`) {
		t.Fatalf("CNI config lacks our podCIDR or the detected MTU:\n%s", data)
	}
	if len(h.chains["iptables nat KINCNET-MASQ"]) != 1 {
		t.Fatalf("masquerade rule missing: %v", h.chains)
	}

	// Steady state: no mutating command at all.
	h.log = nil
	if err := r.apply(nodes); err != nil {
		t.Fatal(err)
	}
	var mutating []string
	for _, l := range h.log {
		if !strings.Contains(l, " -C ") && !strings.Contains(l, " -L ") && !strings.HasPrefix(l, "ip -j") {
			mutating = append(mutating, l)
		}
	}
	if len(mutating) != 0 {
		t.Fatalf("second pass changed things: %v", mutating)
	}

	// w2 is deleted: its route goes.
	if err := r.apply(nodes[:2]); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(h.routes))
	for k := range h.routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "10.244.0.0/24" {
		t.Fatalf("routes after w2 left: %v", h.routes)
	}

	// Our own node missing from the list is an error, not a wipe-out.
	if err := r.apply(nodes[:1]); err == nil {
		t.Fatal("own node missing: want an error")
	}
	if len(h.routes) != 1 {
		t.Fatalf("routes changed although our node was missing: %v", h.routes)
	}
}

func TestKubeClientListNodes(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, `{"kind":"Status","message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, nodeListJSON(nodeJSON("cp", "10.244.0.0/24", "172.18.0.2"), nodeJSON("w1", "10.244.1.0/24", "172.18.0.3")))
	}))
	defer srv.Close()

	c, err := kubeapi.New(srv.URL+"/", tokenFile, "")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := listNodes(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[1].Name() != "w1" || nodes[1].PodCIDRs()[0].String() != "10.244.1.0/24" {
		t.Fatalf("nodes %+v", nodes)
	}

	os.WriteFile(tokenFile, []byte("rotated"), 0o600)
	if _, err := listNodes(context.Background(), c); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: got %v, want a 401 error", err)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: []string{"--node-name", "w1", "--pod-subnet", "10.244.0.0/16"}},
		{name: "dual", args: []string{"--node-name", "w1", "--pod-subnet", "10.244.0.0/16, fd00:10:244::/56"}},
		{name: "no node", args: []string{"--pod-subnet", "10.244.0.0/16"}, wantErr: "NODE_NAME"},
		{name: "no subnet", args: []string{"--node-name", "w1"}, wantErr: "POD_SUBNET"},
		{name: "bad subnet", args: []string{"--node-name", "w1", "--pod-subnet", "10.244.0.0"}, wantErr: "10.244.0.0"},
	}
	t.Setenv("NODE_NAME", "")
	t.Setenv("POD_SUBNET", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnsureGuardIdempotent(t *testing.T) {
	h := newFakeHost()
	services := []*net.IPNet{cidr(t, "10.96.0.0/16")}
	pods := []*net.IPNet{cidr(t, "10.244.0.0/16")}
	added, err := ensureGuard(h.run, services, pods)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 6 {
		t.Fatalf("first pass added %v, want the chain, two rules, two jumps and the route", added)
	}
	want := []string{
		"-d 10.96.0.0/16 -p tcp -m comment --comment kincnet: service address no proxy rule took -j REJECT --reject-with tcp-reset",
		"-d 10.96.0.0/16 -m comment --comment kincnet: service address no proxy rule took -j REJECT --reject-with icmp-port-unreachable",
	}
	if got := h.chains["iptables filter KINCNET-GUARD"]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("KINCNET-GUARD = %q, want %q", got, want)
	}
	for _, from := range []string{"FORWARD", "OUTPUT"} {
		if got := h.chains["iptables filter "+from]; len(got) != 1 || got[0] != "-m comment --comment kincnet guard -j KINCNET-GUARD" {
			t.Errorf("%s = %q, want the jump first", from, got)
		}
	}
	if got := strings.Join(h.unreachable, ","); got != "10.244.0.0/16 proto 148" {
		t.Errorf("unreachable routes %q, want the pod subnet", got)
	}
	if added, err := ensureGuard(h.run, services, pods); err != nil || len(added) != 0 {
		t.Fatalf("second pass: added %v, err %v; want nothing", added, err)
	}
	if got := h.chains["iptables filter KINCNET-GUARD"]; len(got) != 2 {
		t.Errorf("second pass changed the chain: %q", got)
	}
}
