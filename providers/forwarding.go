package providers

import (
	"context"
	"fmt"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// bridgeForwarding adds (or removes) a host firewall rule that forwards all
// traffic between the containers of a network's bridge. podman's firewall
// (netavark) accepts forwarded bridge traffic only from and to the
// network's own subnet, but pod traffic between nodes carries pod
// addresses; where bridged traffic passes iptables and the FORWARD policy
// drops (docker sets it), that traffic is lost without this rule.
func (rt *Runtime) bridgeForwarding(ctx context.Context, network string, add bool) error {
	if !rt.dialect.needsBridgeForwardRule || !rt.sys.firewall {
		return nil
	}
	out, err := rt.query(ctx, "network", "inspect", "--format", "{{.NetworkInterface}}", network)
	if _, dryRun := rt.runner.(*run.DryRun); err != nil && dryRun && add {
		// The network create was only printed: show the rule for it.
		out, err = []byte("<bridge of "+network+">"), nil
	}
	if err != nil {
		return fmt.Errorf("find the bridge of network %s: %w", network, err)
	}
	bridge := strings.TrimSpace(string(out))
	if bridge == "" {
		return nil
	}
	rule := []string{"FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", "kinc network " + network, "-j", "ACCEPT"}
	_, checkErr := rt.runner.Run(ctx, run.Cmd{Args: append([]string{"iptables", "-C"}, rule...), ReadOnly: true})
	present := checkErr == nil
	switch {
	case add && !present:
		_, err = rt.runner.Run(ctx, run.Cmd{Args: append([]string{"iptables", "-I"}, rule...)})
	case !add && present:
		_, err = rt.runner.Run(ctx, run.Cmd{Args: append([]string{"iptables", "-D"}, rule...)})
	}
	if err != nil {
		return fmt.Errorf("host firewall rule for network %s: %w", network, err)
	}
	return nil
}
