// Command imagenames prints the images a cluster of this kinc tree needs on
// the host: the default node image and the load balancer image, one a line.
// hack/vm saves exactly these into the VM's data disk.
package main

import (
	"fmt"

	"github.com/kinc-dev/kinc/nodeimage"
)

func main() {
	fmt.Println(nodeimage.DefaultImage(nodeimage.DefaultKubernetesVersion))
	fmt.Println(nodeimage.AddonImage("lb"))
}
