//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bridgeOf is the host interface of the cluster's network.
func (c *cluster) bridgeOf() string {
	t := c.t
	t.Helper()
	network := "kinc-" + c.name
	if c.runtime == "podman" {
		return strings.TrimSpace(mustRun(t, time.Minute, "podman", "network", "inspect", "--format", "{{.NetworkInterface}}", network))
	}
	id := strings.TrimSpace(mustRun(t, time.Minute, "docker", "network", "inspect", "--format", "{{.Id}}", network))
	return "br-" + id[:12]
}

// checkNoLeak proves that cluster addresses nothing in the cluster took
// never leave it: the host counts and drops, in mangle FORWARD, every
// packet for the service or pod subnet that comes from the cluster's
// bridge and that it would route off it (packets bridged between nodes stay
// on the bridge and are not matched; other clusters' bridges are not
// touched: their pod traffic, bridged through FORWARD too, must go on),
// while a pod connects to an unused ClusterIP, to a port
// the kubernetes Service does not define, and to a pod address no node
// holds. Each must be refused at once (within 2 s beyond a no-op exec:
// kubectl exec itself varies by a second on a loaded 2-core host), with
// nothing counted.
func (c *cluster) checkNoLeak() {
	t := c.t
	bridge := c.bridgeOf()
	comment := "kinc-e2e-leak-" + c.name
	subnets := []string{"10.96.0.0/16", "10.244.0.0/16"} // testdata/e2e/workers.toml's defaults
	for _, s := range subnets {
		mustRun(t, time.Minute, "iptables", "-t", "mangle", "-I", "FORWARD", "-i", bridge, "-d", s, "!", "-o", bridge,
			"-m", "comment", "--comment", comment, "-j", "DROP")
	}
	t.Cleanup(func() {
		for _, s := range subnets {
			run(t, time.Minute, "iptables", "-t", "mangle", "-D", "FORWARD", "-i", bridge, "-d", s, "!", "-o", bridge,
				"-m", "comment", "--comment", comment, "-j", "DROP")
		}
	})
	baseline := c.execTime("web-0", "true")
	for _, target := range []struct{ what, addr, port string }{
		{"an unused ClusterIP", "10.96.200.200", "80"},
		{"a port the kubernetes Service does not define", "10.96.0.1", "81"},
		{"a pod address no node holds", "10.244.250.9", "80"},
	} {
		start := time.Now()
		out, err := run(t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name,
			"exec", "web-0", "--", "timeout", "10", "nc", "-w", "5", target.addr, target.port)
		took := time.Since(start) - baseline
		if err == nil {
			t.Errorf("%s (%s:%s) accepted a connection: %s", target.what, target.addr, target.port, out)
		}
		if took > 2*time.Second || !regexp.MustCompile(`(?i)refused|unreachable|no route`).MatchString(out) {
			t.Errorf("%s (%s:%s): want refused at once (within 2s), took %.2fs more than exec itself: %q",
				target.what, target.addr, target.port, took.Seconds(), out)
		}
	}
	rules := mustRun(t, time.Minute, "iptables", "-t", "mangle", "-L", "FORWARD", "-v", "-x", "-n")
	for _, l := range strings.Split(rules, "\n") {
		if !strings.Contains(l, comment) {
			continue
		}
		if f := strings.Fields(l); len(f) > 0 {
			if n, _ := strconv.Atoi(f[0]); n != 0 {
				t.Errorf("%d packet(s) for cluster addresses left the cluster onto the host's network: %s", n, l)
			}
		}
	}
}

// execTime is how long kubectl exec of a no-op takes in pod, the overhead
// to take off a timed exec.
func (c *cluster) execTime(pod string, cmd ...string) time.Duration {
	start := time.Now()
	c.k(append([]string{"exec", pod, "--"}, cmd...)...)
	return time.Since(start)
}

// checkDNS: names resolve through the pods' search list over TCP as over
// UDP. On podman the search list ended in dns.podman, served by
// aardvark-dns, which answers UDP only: a TCP lookup of
// kubernetes.default.svc.cluster.local (4 dots, under ndots:5, so the search
// list comes first) hung there until it timed out. Every name asked here is
// the cluster's own: nothing goes to an upstream server off this machine.
func (c *cluster) checkDNS() {
	t := c.t
	for _, proto := range []string{"udp", "tcp"} {
		for _, name := range []string{"kubernetes.default", "kubernetes.default.svc.cluster.local", "web-1"} {
			out, err := runOut(t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name,
				"exec", "web-0", "--", "lookup", proto, name)
			m := regexp.MustCompile(`^10\.96\.[0-9.]+ in ([0-9.]+)s`).FindStringSubmatch(strings.TrimSpace(out))
			if err != nil || m == nil {
				t.Errorf("lookup %s %s from a pod: %v: %s", proto, name, err, out)
				continue
			}
			if sec, _ := strconv.ParseFloat(m[1], 64); sec > 2 {
				t.Errorf("lookup %s %s took %ss, want well under a second", proto, name, m[1])
			}
		}
	}
}
