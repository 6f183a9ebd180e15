package lifecycle

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/lifecycle/kubeconfig"
	"github.com/kinc-dev/kinc/providers"
)

// Delete removes every container, volume and network labelled with the
// cluster's name, and its context from every kubeconfig file given (empty
// names are skipped). found says whether there was anything to remove.
func Delete(ctx context.Context, p Provider, name string, kubeconfigFiles ...string) (found bool, err error) {
	labels := clusterLabels(name)
	containers, err := p.ListContainers(ctx, labels)
	if err != nil {
		return false, err
	}
	var errs *multierror.Error
	// One command per container and per volume: the runtime removes them
	// side by side, about a third sooner for three nodes than in one command.
	if err := parallel(containers, func(c providers.Container) error { return p.DeleteContainers(ctx, c.Name) }); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete containers: %w", err))
	}
	// The volumes and the network are free once the containers are gone.
	var volumes, networks []string
	removeVolumes := func() error {
		var err error
		if volumes, err = p.ListVolumes(ctx, labels); err == nil {
			err = parallel(volumes, func(v string) error { return p.DeleteVolumes(ctx, v) })
		}
		if err != nil {
			return fmt.Errorf("delete volumes: %w", err)
		}
		return nil
	}
	removeNetworks := func() error {
		var err error
		if networks, err = p.ListNetworks(ctx, labels); err == nil {
			err = p.DeleteNetworks(ctx, networks...)
		}
		if err != nil {
			return fmt.Errorf("delete networks: %w", err)
		}
		return nil
	}
	if err := parallel([]func() error{removeVolumes, removeNetworks}, func(remove func() error) error { return remove() }); err != nil {
		errs = multierror.Append(errs, err)
	}
	for _, f := range kubeconfigFiles {
		if f == "" {
			continue
		}
		if err := kubeconfig.Remove(f, ContextName(name)); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove context from %s: %w", f, err))
		}
	}
	return len(containers)+len(volumes)+len(networks) > 0, errs.ErrorOrNil()
}

// Clusters lists the names of the clusters that have containers on p.
func Clusters(ctx context.Context, p Provider) ([]string, error) {
	containers, err := p.ListContainers(ctx, map[string]string{providers.LabelCluster: ""})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, c := range containers {
		if n := c.Labels[providers.LabelCluster]; n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// ClusterContainers lists a cluster's containers (nodes and load balancer).
func ClusterContainers(ctx context.Context, p Provider, name string) ([]providers.Container, error) {
	return p.ListContainers(ctx, clusterLabels(name))
}
