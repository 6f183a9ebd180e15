package lifecycle

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kinc-dev/kinc/lifecycle/kubeadm"
	"github.com/kinc-dev/kinc/providers"
)

// checkStageRange checks --from and --until: known stages, from not after until.
func checkStageRange(from, until string) error {
	names := StageNames()
	for _, s := range []string{from, until} {
		if s != "" && !slices.Contains(names, s) {
			return fmt.Errorf("unknown stage %q: use one of %s", s, strings.Join(names, ", "))
		}
	}
	if from != "" && until != "" && slices.Index(names, from) > slices.Index(names, until) {
		return fmt.Errorf("--from %s comes after --until %s: nothing to run", from, until)
	}
	return nil
}

var (
	tokenRE   = regexp.MustCompile(`(?m)^(?:- token|  tlsBootstrapToken): "([a-z0-9]{6}\.[a-z0-9]{16})"`)
	certKeyRE = regexp.MustCompile(`(?m)^\s*certificateKey: "([0-9a-f]{64})"`)
)

// resume reads back what the stages before from learnt about an existing
// cluster, so that the stages from there on run as if creation had never
// stopped: every node of the spec must exist; the API server port is the
// published one; node IPs come from the runtime; the bootstrap token and
// certificate key from the kubeadm configuration written by configure (a
// new one is only right while kubeadm has not run).
func (c *Cluster) resume(ctx context.Context, existing []providers.Container, from string) error {
	have := map[string]providers.Container{}
	for _, ct := range existing {
		have[ct.Name] = ct
	}
	var missing, extra []string
	want := map[string]bool{}
	for _, n := range c.Nodes {
		want[n.Name] = true
		if _, ok := have[n.Name]; !ok {
			missing = append(missing, n.Name)
		}
	}
	for _, ct := range existing {
		if !want[ct.Name] && ct.Labels[providers.LabelRole] != RoleLoadBalancer {
			extra = append(extra, ct.Name)
		}
	}
	if len(extra) > 0 || (len(missing) > 0 && from != (provision{}).Name()) {
		return fmt.Errorf("the cluster's nodes do not match the spec (missing %q, not in the spec %q): give the --config it was created with", missing, extra)
	}
	if len(missing) > 0 {
		return nil // provision creates them
	}
	for _, ct := range existing {
		if ct.State != "running" {
			return fmt.Errorf("container %s is %s, not running: start it first", ct.Name, ct.State)
		}
	}
	endpoint := c.initNode().Name
	if c.LoadBalancerNeeded() {
		endpoint = LoadBalancerName(c.Name)
	}
	if _, ok := have[endpoint]; ok {
		hp, err := c.Provider.HostPort(ctx, endpoint, kubeadm.APIServerPort)
		if err != nil {
			return err
		}
		var port int
		if _, err := fmt.Sscanf(hp[strings.LastIndex(hp, ":")+1:], "%d", &port); err != nil || port == 0 {
			return fmt.Errorf("published API server port of %s: %q", endpoint, hp)
		}
		c.APIServerPort = port
	}
	if err := c.readIPs(ctx, c.Nodes); err != nil {
		return err
	}
	cfg, err := c.Provider.Exec(ctx, c.initNode().Name, providers.ExecOptions{ReadOnly: true}, "cat", kubeadm.ConfigPath)
	if err != nil {
		return nil // configure has not run: its new token is the one
	}
	if m := tokenRE.FindSubmatch(cfg); m != nil {
		c.Token = string(m[1])
	}
	if m := certKeyRE.FindSubmatch(cfg); m != nil {
		c.CertificateKey = string(m[1])
	}
	return nil
}
