package lifecycle

import (
	"fmt"
	"net/netip"
)

// nextFreeIPs picks n addresses of subnet for new containers: the lowest
// host addresses after the network address that are neither the gateway nor
// in use. Fixed addresses keep certificates, kubeconfigs, etcd peer URLs,
// /etc/hosts and pod routes true when a node restarts.
func nextFreeIPs(subnet, gateway string, used []string, n int) ([]string, error) {
	prefix, err := netip.ParsePrefix(subnet)
	if err != nil {
		return nil, fmt.Errorf("network subnet %q: %w", subnet, err)
	}
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("network subnet %s is not IPv4", subnet)
	}
	prefix = prefix.Masked()
	taken := map[netip.Addr]bool{}
	for _, u := range append([]string{gateway}, used...) {
		if a, err := netip.ParseAddr(u); err == nil {
			taken[a] = true
		}
	}
	if gateway == "" {
		// The runtimes give the bridge the first address when none is named.
		taken[prefix.Addr().Next()] = true
	}
	var res []string
	for a := prefix.Addr().Next(); prefix.Contains(a) && len(res) < n; a = a.Next() {
		if !prefix.Contains(a.Next()) {
			break // the broadcast address
		}
		if !taken[a] {
			res = append(res, a.String())
		}
	}
	if len(res) < n {
		return nil, fmt.Errorf("network subnet %s has no %d free addresses left", subnet, n)
	}
	return res, nil
}
