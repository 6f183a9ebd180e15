package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// cniVersion is understood by containerd 1.6+ and CNI plugins 0.8+.
const cniVersion = "0.4.0"

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgePlugin struct {
	Type        string `json:"type"`
	Bridge      string `json:"bridge"`
	IsGateway   bool   `json:"isGateway"`
	IPMasq      bool   `json:"ipMasq"`
	HairpinMode bool   `json:"hairpinMode"`
	MTU         int    `json:"mtu,omitempty"`
	IPAM        ipam   `json:"ipam"`
}

type ipam struct {
	Type   string          `json:"type"`
	Ranges [][]ipamRange   `json:"ranges"`
	Routes []ipamRouteSpec `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRouteSpec struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
}

// renderConflist returns the CNI network configuration for a node whose pods
// get addresses from podCIDRs: a bridge (the pods' default gateway) with
// host-local IPAM, and portmap for hostPort. Masquerading is done by kincnet's
// own iptables rule, not by the bridge plugin. mtu 0 leaves the plugin's default.
func renderConflist(bridge string, podCIDRs []*net.IPNet, mtu int) ([]byte, error) {
	if len(podCIDRs) == 0 {
		return nil, fmt.Errorf("no pod CIDR")
	}
	var (
		ranges [][]ipamRange
		routes []ipamRouteSpec
		fams   = map[bool]bool{}
	)
	for _, c := range podCIDRs {
		ranges = append(ranges, []ipamRange{{Subnet: c.String()}})
		if v4 := isV4(c); !fams[v4] {
			fams[v4] = true
			if v4 {
				routes = append(routes, ipamRouteSpec{Dst: "0.0.0.0/0"})
			} else {
				routes = append(routes, ipamRouteSpec{Dst: "::/0"})
			}
		}
	}
	cl := conflist{
		CNIVersion: cniVersion,
		Name:       "kincnet",
		Plugins: []any{
			bridgePlugin{
				Type:        "bridge",
				Bridge:      bridge,
				IsGateway:   true,
				IPMasq:      false,
				HairpinMode: true,
				MTU:         mtu,
				IPAM:        ipam{Type: "host-local", Ranges: ranges, Routes: routes},
			},
			portmapPlugin{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(cl, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader (the container runtime) never sees a
// partial file. It does nothing and returns false if path already holds data.
// The temporary name has no .conf/.conflist/.json extension, so CNI never
// loads it.
func writeFileAtomic(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(dir, ".kincnet-*.tmp")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, err
	}
	return true, nil
}
