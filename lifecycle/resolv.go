package lifecycle

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

// kubeletResolvConf is the resolv.conf kubelet hands to pods with the
// Default DNS policy, coredns among them.
const kubeletResolvConf = "/etc/kinc/resolv.conf"

// hostResolvConfs are where kinc looks for the host's real upstream
// servers; systemd-resolved's stub (127.0.0.53) is not one.
var hostResolvConfs = []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"}

// podResolvConf turns a node's resolv.conf into one pods can use. Two kinds
// of nameserver are replaced by the host's upstream servers: loopback ones
// (docker's embedded DNS at 127.0.0.11 means the pod's own loopback inside a
// pod, where coredns would loop on itself), and the runtime's own network
// DNS server (runtimeServers: podman's aardvark-dns at the network gateway),
// which answers UDP only, so that a TCP lookup forwarded by coredns hangs
// until it times out. Search domains the host does not have (the runtime's
// own, dns.podman) are dropped with it: through the search list they sent
// pods' lookups to that server.
func podResolvConf(node string, runtimeServers []string, hostFiles ...string) (string, error) {
	hostSearch := map[string]bool{}
	for _, h := range hostFiles {
		for _, d := range searchDomains(h) {
			hostSearch[d] = true
		}
	}
	var keep []string
	var servers []string
	for _, l := range strings.Split(node, "\n") {
		fields := strings.Fields(l)
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if !isLoopback(fields[1]) && !slices.Contains(runtimeServers, fields[1]) {
				servers = append(servers, fields[1])
			}
			continue
		}
		if len(fields) >= 1 && (fields[0] == "search" || fields[0] == "domain") {
			var domains []string
			for _, d := range fields[1:] {
				if hostSearch[d] {
					domains = append(domains, d)
				}
			}
			if len(domains) > 0 {
				keep = append(keep, "search "+strings.Join(domains, " "))
			}
			continue
		}
		if len(fields) > 0 && !strings.HasPrefix(fields[0], "#") {
			keep = append(keep, l)
		}
	}
	for _, h := range hostFiles {
		if len(servers) > 0 {
			break
		}
		servers = nameservers(h)
	}
	if len(servers) == 0 {
		return "", fmt.Errorf("no DNS server for pods: the node's resolv.conf has only loopback servers and the host's (%s) has none either", strings.Join(hostResolvConfs, ", "))
	}
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	for _, l := range keep {
		b.WriteString(l + "\n")
	}
	return b.String(), nil
}

func searchDomains(resolv string) []string {
	var res []string
	for _, l := range strings.Split(resolv, "\n") {
		fields := strings.Fields(l)
		if len(fields) >= 2 && (fields[0] == "search" || fields[0] == "domain") {
			res = append(res, fields[1:]...)
		}
	}
	return res
}

func nameservers(resolv string) []string {
	var res []string
	for _, l := range strings.Split(resolv, "\n") {
		fields := strings.Fields(l)
		if len(fields) >= 2 && fields[0] == "nameserver" && !isLoopback(fields[1]) {
			res = append(res, fields[1])
		}
	}
	return res
}

func isLoopback(addr string) bool {
	ip := net.ParseIP(addr)
	return ip == nil || ip.IsLoopback()
}

// hostResolvFiles reads the host's resolv.conf files that exist.
func hostResolvFiles() []string {
	var res []string
	for _, p := range hostResolvConfs {
		if data, err := os.ReadFile(p); err == nil {
			res = append(res, string(data))
		}
	}
	return res
}
