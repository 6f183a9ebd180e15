package main

import (
	"net"
	"sort"
)

// NodeList is the part of a v1 NodeList kincnet reads.
type NodeList struct {
	Items []Node `json:"items"`
}

// Node is the part of a v1 Node kincnet reads.
type Node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR  string   `json:"podCIDR"`
		PodCIDRs []string `json:"podCIDRs"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}

// Name is the node's name.
func (n Node) Name() string { return n.Metadata.Name }

// PodCIDRs returns the node's pod CIDRs in canonical form (spec.podCIDRs,
// else spec.podCIDR); unparsable entries are dropped.
func (n Node) PodCIDRs() []*net.IPNet {
	raw := n.Spec.PodCIDRs
	if len(raw) == 0 && n.Spec.PodCIDR != "" {
		raw = []string{n.Spec.PodCIDR}
	}
	var out []*net.IPNet
	seen := map[string]bool{}
	for _, s := range raw {
		_, c, err := net.ParseCIDR(s)
		if err != nil || seen[c.String()] {
			continue
		}
		seen[c.String()] = true
		out = append(out, c)
	}
	return out
}

// InternalIP returns the node's first InternalIP of the given family
// (IPv4 if v4, else IPv6), or nil.
func (n Node) InternalIP(v4 bool) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type != "InternalIP" {
			continue
		}
		ip := net.ParseIP(a.Address)
		if ip != nil && (ip.To4() != nil) == v4 {
			return ip
		}
	}
	return nil
}

func isV4(c *net.IPNet) bool { return c.IP.To4() != nil }

// findNode returns the node called name.
func findNode(nodes []Node, name string) (Node, bool) {
	for _, n := range nodes {
		if n.Name() == name {
			return n, true
		}
	}
	return Node{}, false
}

// desiredRoutes returns, for every node but self, a route to each of its pod
// CIDRs via its InternalIP of the same family, keyed by destination CIDR.
// Nodes without pod CIDRs or without a matching address are left out (their
// routes, if any, will be removed), as are CIDRs overlapping self's own.
func desiredRoutes(nodes []Node, self string) map[string]string {
	var own []*net.IPNet
	if n, ok := findNode(nodes, self); ok {
		own = n.PodCIDRs()
	}
	out := map[string]string{}
	for _, n := range nodes {
		if n.Name() == self {
			continue
		}
		for _, c := range n.PodCIDRs() {
			if overlapsAny(c, own) {
				continue
			}
			if ip := n.InternalIP(isV4(c)); ip != nil {
				out[c.String()] = ip.String()
			}
		}
	}
	return out
}

func overlapsAny(c *net.IPNet, list []*net.IPNet) bool {
	for _, o := range list {
		if o.Contains(c.IP) || c.Contains(o.IP) {
			return true
		}
	}
	return false
}

// Route is a route to Dst (a CIDR) via the gateway Via.
type Route struct {
	Dst, Via string
}

// diffRoutes returns the routes to add or change and the destinations to
// delete to turn current into desired, each sorted by destination.
func diffRoutes(desired, current map[string]string) (replace []Route, del []string) {
	for dst, via := range desired {
		if current[dst] != via {
			replace = append(replace, Route{Dst: dst, Via: via})
		}
	}
	for dst := range current {
		if _, ok := desired[dst]; !ok {
			del = append(del, dst)
		}
	}
	sort.Slice(replace, func(i, j int) bool { return replace[i].Dst < replace[j].Dst })
	sort.Strings(del)
	return replace, del
}
