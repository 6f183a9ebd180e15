// Command imagenames prints the images a cluster of this kinc tree needs on
// the host: the default node image and the load balancer image, one a line.
// hack/vm saves exactly these into the VM's data disk.
package main

import (
	"fmt"

	"github.com/kinc-dev/kinc/nodeimage"
	"github.com/kinc-dev/kinc/nodeimage/contract"
)

func main() {
	fmt.Println(nodeimage.DefaultImage(contract.DefaultKubernetesVersion))
	fmt.Println(nodeimage.AddonImage("lb"))
}
