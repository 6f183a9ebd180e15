// Command kincnet is kinc's default CNI: a DaemonSet (host network,
// privileged) on every node that
//
//   - waits for its node's spec.podCIDR (allocated by kube-controller-manager
//     with --allocate-node-cidrs) and writes the CNI config: a bridge with
//     host-local IPAM over that range, plus portmap;
//   - keeps a route to every other node's pod CIDR via that node's
//     InternalIP (`ip route replace CIDR via IP proto 147`), removing the
//     routes of nodes that are gone;
//   - masquerades pod traffic that leaves the cluster's pod subnet (iptables
//     nat chain KINCNET-MASQ);
//   - refuses, at the node, service and pod addresses that nothing in the
//     cluster took, so that they never leave it (filter chain KINCNET-GUARD
//     and an unreachable route over the pod subnet).
//
// The nodes share one L2 network (the cluster's docker/podman network), so
// plain routes are enough: no encapsulation.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

type config struct {
	nodeName   string
	podSubnets []*net.IPNet
	// serviceSubnets are guarded (see ensureGuard); none: no guard rules.
	serviceSubnets []*net.IPNet
	cniConfig      string
	bridge         string
	mtu            int
	interval       time.Duration
	apiServer      string
	tokenFile      string
	caFile         string
}

func main() {
	log.SetFlags(log.LstdFlags)
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kincnet:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, execRunner); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatalf("kincnet: %v", err)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("kincnet", flag.ContinueOnError)
	var c config
	var subnets, serviceSubnets string
	fs.StringVar(&c.nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (env NODE_NAME)")
	fs.StringVar(&subnets, "pod-subnet", os.Getenv("POD_SUBNET"), "the cluster's pod subnet(s), comma-separated (env POD_SUBNET)")
	fs.StringVar(&serviceSubnets, "service-subnet", os.Getenv("SERVICE_SUBNET"), "the cluster's service subnet(s), comma-separated, refused at the node when no proxy rule took them (env SERVICE_SUBNET)")
	fs.StringVar(&c.cniConfig, "cni-config", "/etc/cni/net.d/10-kincnet.conflist", "where to write the CNI config")
	fs.StringVar(&c.bridge, "bridge", "kincnet0", "name of the pods' bridge")
	fs.IntVar(&c.mtu, "mtu", 0, "pod interface MTU; 0: the MTU of the interface holding the node's InternalIP")
	fs.DurationVar(&c.interval, "interval", 5*time.Second, "how often nodes are listed and routes reconciled")
	fs.StringVar(&c.apiServer, "api-server", "", "API server URL; default: in-cluster (KUBERNETES_SERVICE_HOST/PORT)")
	fs.StringVar(&c.tokenFile, "token-file", kubeapi.TokenFile, "bearer token file; empty: none")
	fs.StringVar(&c.caFile, "ca-file", kubeapi.CAFile, "API server CA bundle; empty: system roots / plain http")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.nodeName == "" {
		return c, errors.New("node name missing: set NODE_NAME or --node-name")
	}
	if subnets == "" {
		return c, errors.New("pod subnet missing: set POD_SUBNET or --pod-subnet")
	}
	for _, s := range strings.Split(subnets, ",") {
		_, n, err := net.ParseCIDR(strings.TrimSpace(s))
		if err != nil {
			return c, fmt.Errorf("pod subnet %q: %w", s, err)
		}
		c.podSubnets = append(c.podSubnets, n)
	}
	for _, s := range strings.Split(serviceSubnets, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return c, fmt.Errorf("service subnet %q: %w", s, err)
		}
		c.serviceSubnets = append(c.serviceSubnets, n)
	}
	if c.interval <= 0 {
		return c, errors.New("--interval must be positive")
	}
	return c, nil
}

// run reconciles every cfg.interval until ctx ends.
func run(ctx context.Context, cfg config, exec runner) error {
	server := cfg.apiServer
	if server == "" {
		s, err := kubeapi.InClusterServer()
		if err != nil {
			return err
		}
		server = s
	}
	kube, err := kubeapi.New(server, cfg.tokenFile, cfg.caFile)
	if err != nil {
		return err
	}
	log.Printf("kincnet on node %s, pod subnet %v, API server %s", cfg.nodeName, cfg.podSubnets, server)
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		log.Printf("cannot enable IPv4 forwarding (the bridge plugin will try too): %v", err)
	}

	r := &reconciler{cfg: cfg, exec: exec}
	for {
		if err := r.once(ctx, kube); err != nil {
			log.Printf("reconcile: %v", err)
		}
		// Until this node's CNI config exists the node cannot be Ready:
		// look again soon rather than after a whole interval.
		wait := cfg.interval
		if !r.configured && wait > startupInterval {
			wait = startupInterval
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// startupInterval is how often kincnet looks while its node has no CNI
// config yet (waiting for the node's pod CIDR).
const startupInterval = 250 * time.Millisecond

// reconciler holds what one pass needs to remember for the next, only to
// keep the log quiet when nothing changes.
type reconciler struct {
	cfg        config
	exec       runner
	waitLogged bool
	mtu        int
	// configured: this node's CNI config has been written.
	configured bool
}

func (r *reconciler) once(ctx context.Context, kube *kubeapi.Client) error {
	nodes, err := listNodes(ctx, kube)
	if err != nil {
		return err
	}
	return r.apply(nodes)
}

// apply makes the node match the cluster as described by nodes.
func (r *reconciler) apply(nodes []Node) error {
	self, ok := findNode(nodes, r.cfg.nodeName)
	if !ok {
		return fmt.Errorf("node %s not found", r.cfg.nodeName)
	}
	own := self.PodCIDRs()
	if len(own) == 0 {
		if !r.waitLogged {
			log.Printf("waiting for node %s to get spec.podCIDR (kube-controller-manager --allocate-node-cidrs)", r.cfg.nodeName)
			r.waitLogged = true
		}
		return nil
	}

	if err := r.writeCNIConfig(self, own); err != nil {
		return fmt.Errorf("CNI config: %w", err)
	}
	r.configured = true
	added, err := ensureMasquerade(r.exec, own, r.cfg.podSubnets)
	for _, a := range added {
		log.Printf("masquerade: %s", a)
	}
	if err != nil {
		return fmt.Errorf("masquerade: %w", err)
	}
	added, err = ensureGuard(r.exec, r.cfg.serviceSubnets, r.cfg.podSubnets)
	for _, a := range added {
		log.Printf("guard: %s", a)
	}
	if err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	return r.syncRoutes(nodes)
}

func (r *reconciler) writeCNIConfig(self Node, own []*net.IPNet) error {
	mtu := r.cfg.mtu
	if mtu == 0 {
		if r.mtu == 0 {
			if ip := self.InternalIP(isV4(own[0])); ip != nil {
				m, err := interfaceMTU(r.exec, ip)
				if err != nil {
					log.Printf("MTU detection failed, using the bridge plugin's default: %v", err)
					m = -1
				} else {
					log.Printf("pod MTU %d (from the interface holding %s)", m, ip)
				}
				r.mtu = m
			}
		}
		if r.mtu > 0 {
			mtu = r.mtu
		}
	}
	data, err := renderConflist(r.cfg.bridge, own, mtu)
	if err != nil {
		return err
	}
	changed, err := writeFileAtomic(r.cfg.cniConfig, data)
	if err != nil {
		return err
	}
	if changed {
		log.Printf("wrote %s for pod CIDR(s) %v", r.cfg.cniConfig, own)
	}
	return nil
}

func (r *reconciler) syncRoutes(nodes []Node) error {
	desired := desiredRoutes(nodes, r.cfg.nodeName)
	var errs []error
	for _, v4 := range []bool{true, false} {
		if sameFamily(r.cfg.podSubnets, v4) == nil {
			continue
		}
		current, err := currentRoutes(r.exec, v4)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := map[string]string{}
		for dst, via := range desired {
			if _, c, _ := net.ParseCIDR(dst); isV4(c) == v4 {
				want[dst] = via
			}
		}
		replace, del := diffRoutes(want, current)
		for _, rt := range replace {
			if err := replaceRoute(r.exec, rt); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Printf("route %s via %s", rt.Dst, rt.Via)
		}
		for _, dst := range del {
			if err := deleteRoute(r.exec, dst); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Printf("route %s removed (no node has this pod CIDR any more)", dst)
		}
	}
	return errors.Join(errs...)
}
