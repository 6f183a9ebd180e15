// Command kinc creates Kubernetes clusters whose nodes are containers.
package main

import (
	"fmt"
	"os"

	"github.com/kinc-dev/kinc/cli"
)

func main() {
	if err := cli.NewApp(os.Stdout, os.Stderr).Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(cli.ExitCode(err))
	}
}
