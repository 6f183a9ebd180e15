package cli

import (
	"fmt"
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle/spec"
)

func convertCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "convert", Usage: "convert other tools' configurations to kinc specs", Subcommands: []*ucli.Command{
		{
			Name:      "kind-config",
			Usage:     "convert a kind cluster configuration (kind.x-k8s.io/v1alpha4 YAML) to a kinc spec (TOML, on stdout)",
			ArgsUsage: "FILE",
			Description: "Converts name, nodes (role, image, labels, extraMounts, extraPortMappings), networking,\n" +
				"featureGates, runtimeConfig and KubeletConfiguration kubeadmConfigPatches. Anything without a kinc\n" +
				"equivalent is an error naming its YAML path (e.g. nodes[1].extraMounts[0].selinuxRelabel): nothing\n" +
				"is dropped silently. Needs no container runtime.\n\n" +
				"   kinc convert kind-config kind.yaml > cluster.toml && kinc create cluster --config cluster.toml",
			Action: func(c *ucli.Context) error {
				args, err := positional(c, 1, 1)
				if err != nil {
					return err
				}
				data, err := os.ReadFile(args[0])
				if err != nil {
					return fmt.Errorf("read kind configuration: %w", err)
				}
				cluster, err := spec.FromKind(args[0], data)
				if err != nil {
					return err
				}
				out, err := cluster.Encode()
				if err != nil {
					return fmt.Errorf("encode %s: %w", args[0], err)
				}
				fmt.Fprintf(g.stdout, "# kinc spec converted from the kind configuration %s\n\n", args[0])
				_, err = g.stdout.Write(out)
				return err
			},
		},
	}}
}
