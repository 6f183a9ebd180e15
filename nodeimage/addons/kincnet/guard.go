package main

import (
	"fmt"
	"net"
)

// guardChain is kincnet's chain in the filter table that keeps cluster
// addresses inside the cluster.
const guardChain = "KINCNET-GUARD"

// guardProto tags the unreachable routes of the pod subnet (not 147: the
// route reconciler owns those).
const guardProto = "148"

// ensureGuard keeps cluster traffic from leaving the node for the runtime's
// network and beyond. A connection to a service address no proxy rule
// translated (an unknown ClusterIP, or a port the Service does not define)
// would otherwise follow the default route onto the host's network, where
// anything may answer, or time out: FORWARD and OUTPUT jump to
// KINCNET-GUARD, which refuses it at once (TCP reset, else ICMP port
// unreachable). Translated packets already carry a pod address there
// (DNAT happens in PREROUTING and nat OUTPUT, before filter). Pod addresses
// that no node holds hit an unreachable route covering the pod subnet; the
// routes of the node's own pod CIDR and of every other node's are more
// specific. Idempotent; it returns what it added.
func ensureGuard(run runner, serviceSubnets, podSubnets []*net.IPNet) ([]string, error) {
	var added []string
	for _, v4 := range []bool{true, false} {
		var rules [][]string
		for _, s := range serviceSubnets {
			if isV4(s) != v4 {
				continue
			}
			icmp := "icmp-port-unreachable"
			if !v4 {
				icmp = "icmp6-port-unreachable"
			}
			comment := []string{"-m", "comment", "--comment", "kincnet: service address no proxy rule took"}
			rules = append(rules,
				append(append([]string{"-d", s.String(), "-p", "tcp"}, comment...), "-j", "REJECT", "--reject-with", "tcp-reset"),
				append(append([]string{"-d", s.String()}, comment...), "-j", "REJECT", "--reject-with", icmp))
		}
		if len(rules) > 0 {
			ipt := "iptables"
			if !v4 {
				ipt = "ip6tables"
			}
			if _, err := run(ipt, "-w", "5", "-t", "filter", "-L", guardChain, "-n"); err != nil {
				if _, err := run(ipt, "-w", "5", "-t", "filter", "-N", guardChain); err != nil {
					return added, err
				}
				added = append(added, ipt+" -t filter -N "+guardChain)
			}
			for _, r := range rules {
				spec := append([]string{guardChain}, r...)
				if _, err := run(ipt, append([]string{"-w", "5", "-t", "filter", "-C"}, spec...)...); err == nil {
					continue
				}
				if _, err := run(ipt, append([]string{"-w", "5", "-t", "filter", "-A"}, spec...)...); err != nil {
					return added, err
				}
				added = append(added, fmt.Sprintf("%s -t filter -A %v", ipt, spec))
			}
			for _, from := range []string{"FORWARD", "OUTPUT"} {
				jump := []string{from, "-m", "comment", "--comment", "kincnet guard", "-j", guardChain}
				if _, err := run(ipt, append([]string{"-w", "5", "-t", "filter", "-C"}, jump...)...); err == nil {
					continue
				}
				// First in the chain: nothing before it may accept the packet.
				insert := append([]string{"-w", "5", "-t", "filter", "-I", from, "1"}, jump[1:]...)
				if _, err := run(ipt, insert...); err != nil {
					return added, err
				}
				added = append(added, fmt.Sprintf("%s -t filter -I %s 1 -j %s", ipt, from, guardChain))
			}
		}
		var have map[string]string
		for _, p := range podSubnets {
			if isV4(p) != v4 {
				continue
			}
			if have == nil {
				out, err := run("ip", "-j", familyFlag(v4), "route", "show", "proto", guardProto)
				if err != nil {
					return added, err
				}
				if have, err = parseIPRouteJSON(out); err != nil {
					return added, err
				}
			}
			if _, ok := have[p.String()]; ok {
				continue
			}
			if _, err := run("ip", familyFlag(v4), "route", "replace", "unreachable", p.String(), "proto", guardProto); err != nil {
				return added, err
			}
			added = append(added, "ip route replace unreachable "+p.String())
		}
	}
	return added, nil
}
