package nodeimage

import (
	"fmt"
	"strconv"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/nodeimage/gobuild"
)

// checkVersion refuses, before anything is fetched, a Kubernetes version
// kinc cannot build or run, naming the range it can.
func checkVersion(v string) error {
	major, minor, _, ok := gobuild.ParseVersion(v)
	if !ok {
		return fmt.Errorf("kubernetes version %q is not of the form vX.Y.Z", v)
	}
	m, err := strconv.Atoi(minor)
	if err != nil || major != "1" || m < contract.OldestKubernetesMinor {
		return fmt.Errorf("kubernetes version %s is not supported (kinc writes kubeadm.k8s.io/v1beta4, which kubeadm reads from v1.%d on): %s",
			v, contract.OldestKubernetesMinor, contract.SupportedVersions())
	}
	return nil
}
