package providers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kinc-dev/kinc/providers/run"
)

// CreateNetwork creates a user-defined bridge network on which containers
// can be given fixed addresses. The runtime picks a subnet that is free on
// this host; where fixed addresses need a subnet given at creation
// (docker), the network is made again with the subnet it picked.
func (rt *Runtime) CreateNetwork(ctx context.Context, name string, labels map[string]string) error {
	args := append([]string{"network", "create"}, labelArgs("--label", labels)...)
	if _, err := rt.run(ctx, append(args, name)...); err != nil {
		return err
	}
	if _, dryRun := rt.runner.(*run.DryRun); rt.dialect.fixedIPNeedsSubnet && !dryRun {
		subnet, err := rt.NetworkSubnet(ctx, name)
		if err != nil {
			return err
		}
		if subnet.Subnet != "" {
			if _, err := rt.run(ctx, "network", "rm", name); err != nil {
				return err
			}
			fixed := append(args, "--subnet", subnet.Subnet)
			if subnet.Gateway != "" {
				fixed = append(fixed, "--gateway", subnet.Gateway)
			}
			if _, err := rt.run(ctx, append(fixed, name)...); err != nil {
				return fmt.Errorf("create network %s again with its subnet %s: %w", name, subnet.Subnet, err)
			}
		}
	}
	return rt.bridgeForwarding(ctx, name, true)
}

// EnsureNetworkRules re-applies the host firewall rules a network needs;
// they do not survive a host reboot.
func (rt *Runtime) EnsureNetworkRules(ctx context.Context, name string) error {
	return rt.bridgeForwarding(ctx, name, true)
}

// Subnet is a network's IPv4 subnet and gateway.
type Subnet struct {
	Subnet  string // CIDR
	Gateway string // may be empty
}

// NetworkSubnet returns a network's first IPv4 subnet.
func (rt *Runtime) NetworkSubnet(ctx context.Context, name string) (Subnet, error) {
	out, err := rt.query(ctx, "network", "inspect", "--format", rt.dialect.subnetFormat, name)
	if err != nil {
		return Subnet{}, err
	}
	for _, l := range lines(out) {
		fields := strings.Fields(l)
		if len(fields) == 0 || strings.Contains(fields[0], ":") {
			continue // IPv6
		}
		s := Subnet{Subnet: fields[0]}
		if len(fields) > 1 && fields[1] != "<nil>" {
			s.Gateway = fields[1]
		}
		return s, nil
	}
	return Subnet{}, nil
}

// ListNetworks returns the names of networks carrying every label given.
func (rt *Runtime) ListNetworks(ctx context.Context, labels map[string]string) ([]string, error) {
	args := append([]string{"network", "ls", "--format", "{{.Name}}"}, filterArgs(labels)...)
	out, err := rt.query(ctx, args...)
	return lines(out), err
}

// DeleteNetworks removes networks by name.
func (rt *Runtime) DeleteNetworks(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		if err := rt.bridgeForwarding(ctx, n, false); err != nil {
			return err
		}
	}
	_, err := rt.run(ctx, append([]string{"network", "rm"}, names...)...)
	return err
}

// CreateVolume creates a named volume.
func (rt *Runtime) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	args := append([]string{"volume", "create"}, labelArgs("--label", labels)...)
	_, err := rt.run(ctx, append(args, name)...)
	return err
}

// ListVolumes returns the names of volumes carrying every label given.
func (rt *Runtime) ListVolumes(ctx context.Context, labels map[string]string) ([]string, error) {
	args := append([]string{"volume", "ls", "--format", "{{.Name}}"}, filterArgs(labels)...)
	out, err := rt.query(ctx, args...)
	return lines(out), err
}

// DeleteVolumes removes volumes by name.
func (rt *Runtime) DeleteVolumes(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := rt.run(ctx, append([]string{"volume", "rm", "-f"}, names...)...)
	return err
}

// filterArgs selects objects carrying every label given.
func filterArgs(labels map[string]string) []string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		// An empty value selects every object carrying the key.
		f := "label=" + k
		if labels[k] != "" {
			f += "=" + labels[k]
		}
		args = append(args, "--filter", f)
	}
	return args
}
