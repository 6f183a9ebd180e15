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
// cluster's name, and its context from kubeconfigFile when given.
func Delete(ctx context.Context, p Provider, name, kubeconfigFile string) error {
	labels := clusterLabels(name)
	var errs *multierror.Error
	containers, err := p.ListContainers(ctx, labels)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range containers {
		names = append(names, c.Name)
	}
	if err := p.DeleteContainers(ctx, names...); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete containers: %w", err))
	}
	volumes, err := p.ListVolumes(ctx, labels)
	if err == nil {
		err = p.DeleteVolumes(ctx, volumes...)
	}
	if err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete volumes: %w", err))
	}
	networks, err := p.ListNetworks(ctx, labels)
	if err == nil {
		err = p.DeleteNetworks(ctx, networks...)
	}
	if err != nil {
		errs = multierror.Append(errs, fmt.Errorf("delete networks: %w", err))
	}
	if kubeconfigFile != "" {
		if err := kubeconfig.Remove(kubeconfigFile, ContextName(name)); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("remove context from %s: %w", kubeconfigFile, err))
		}
	}
	return errs.ErrorOrNil()
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
