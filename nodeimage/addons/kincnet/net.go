package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// routeProto tags the routes kincnet installs (`ip route ... proto 147`), so
// it can list and remove exactly its own routes, also after a restart.
const routeProto = "147"

// runner runs a command (argv, never a shell) and returns its combined output.
type runner func(name string, args ...string) ([]byte, error)

func execRunner(name string, args ...string) ([]byte, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func familyFlag(v4 bool) string {
	if v4 {
		return "-4"
	}
	return "-6"
}

// currentRoutes lists kincnet's routes of one family: destination → gateway.
func currentRoutes(run runner, v4 bool) (map[string]string, error) {
	out, err := run("ip", "-j", familyFlag(v4), "route", "show", "proto", routeProto)
	if err != nil {
		return nil, err
	}
	return parseIPRouteJSON(out)
}

// parseIPRouteJSON parses `ip -j route show` output into destination → gateway.
func parseIPRouteJSON(out []byte) (map[string]string, error) {
	var routes []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		if err := json.Unmarshal([]byte(s), &routes); err != nil {
			return nil, fmt.Errorf("parse ip route output: %w", err)
		}
	}
	m := map[string]string{}
	for _, r := range routes {
		dst := r.Dst
		if _, c, err := net.ParseCIDR(dst); err == nil {
			dst = c.String()
		} else if ip := net.ParseIP(dst); ip != nil { // host route: ip prints no /32
			if ip.To4() != nil {
				dst += "/32"
			} else {
				dst += "/128"
			}
		}
		m[dst] = r.Gateway
	}
	return m, nil
}

func replaceRoute(run runner, r Route) error {
	_, err := run("ip", "route", "replace", r.Dst, "via", r.Via, "proto", routeProto)
	return err
}

func deleteRoute(run runner, dst string) error {
	out, err := run("ip", "route", "del", dst, "proto", routeProto)
	if err != nil && strings.Contains(string(out), "No such process") {
		return nil // already gone
	}
	return err
}

// interfaceMTU returns the MTU of the interface that holds ip, using
// `ip -j addr show`.
func interfaceMTU(run runner, ip net.IP) (int, error) {
	out, err := run("ip", "-j", "addr", "show")
	if err != nil {
		return 0, err
	}
	return parseMTU(out, ip)
}

func parseMTU(out []byte, ip net.IP) (int, error) {
	var links []struct {
		IfName   string `json:"ifname"`
		MTU      int    `json:"mtu"`
		AddrInfo []struct {
			Local string `json:"local"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return 0, fmt.Errorf("parse ip addr output: %w", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if local := net.ParseIP(a.Local); local != nil && local.Equal(ip) {
				return l.MTU, nil
			}
		}
	}
	return 0, fmt.Errorf("no interface has address %s", ip)
}

// masqChain is kincnet's own chain in the nat table.
const masqChain = "KINCNET-MASQ"

// ensureMasquerade makes pod traffic that leaves the pod network look like
// it comes from the node: POSTROUTING jumps to KINCNET-MASQ, which
// masquerades `-s <node pod CIDR> ! -d <cluster pod subnet>`. Idempotent:
// every rule is checked with -C before it is appended. It returns the rules
// it added.
func ensureMasquerade(run runner, podCIDRs, podSubnets []*net.IPNet) ([]string, error) {
	var added []string
	for _, v4 := range []bool{true, false} {
		var rules [][]string
		for _, c := range podCIDRs {
			if isV4(c) != v4 {
				continue
			}
			subnet := sameFamily(podSubnets, v4)
			if subnet == nil {
				return added, fmt.Errorf("pod CIDR %s: no pod subnet of its family in %v", c, podSubnets)
			}
			rules = append(rules, []string{"-s", c.String(), "!", "-d", subnet.String(),
				"-m", "comment", "--comment", "kincnet: pod traffic leaving the pod network", "-j", "MASQUERADE"})
		}
		if len(rules) == 0 {
			continue
		}
		ipt := "iptables"
		if !v4 {
			ipt = "ip6tables"
		}
		if _, err := run(ipt, "-w", "5", "-t", "nat", "-L", masqChain, "-n"); err != nil {
			if _, err := run(ipt, "-w", "5", "-t", "nat", "-N", masqChain); err != nil {
				return added, err
			}
			added = append(added, ipt+" -t nat -N "+masqChain)
		}
		jump := []string{"-m", "comment", "--comment", "kincnet masquerade", "-j", masqChain}
		all := [][]string{append([]string{"POSTROUTING"}, jump...)}
		for _, r := range rules {
			all = append(all, append([]string{masqChain}, r...))
		}
		for _, chainAndSpec := range all {
			check := append([]string{"-w", "5", "-t", "nat", "-C"}, chainAndSpec...)
			if _, err := run(ipt, check...); err == nil {
				continue
			}
			add := append([]string{"-w", "5", "-t", "nat", "-A"}, chainAndSpec...)
			if _, err := run(ipt, add...); err != nil {
				return added, err
			}
			added = append(added, ipt+" "+strings.Join(add, " "))
		}
	}
	return added, nil
}

func sameFamily(list []*net.IPNet, v4 bool) *net.IPNet {
	for _, c := range list {
		if isV4(c) == v4 {
			return c
		}
	}
	return nil
}
