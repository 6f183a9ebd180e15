// Command kinc creates Kubernetes clusters whose nodes are containers.
package main

import (
	"context"
	"os"

	"github.com/kinc-dev/kinc/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args, os.Stdout, os.Stderr))
}
