package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle/spec"
)

// EnvClusterName sets the default cluster name of every command.
const EnvClusterName = "KINC_CLUSTER_NAME"

// nameFlag is --name (-n) for commands that act on one cluster.
func nameFlag() *ucli.StringFlag {
	return &ucli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "cluster `NAME` (default: $" + EnvClusterName + ", else kinc)"}
}

// clusterArg is the cluster a command acts on, for commands declared with
// ArgsUsage "[NAME]" and nameFlag(): the one positional argument or --name
// (not both), else $KINC_CLUSTER_NAME, else fallback (when empty:
// spec.DefaultName). More arguments, both forms at once, or a name that
// cannot be a cluster's are usage errors.
func (g *globals) clusterArg(c *ucli.Context, fallback string) (string, error) {
	args, err := positional(c, 0, 1)
	if err != nil {
		return "", err
	}
	if len(args) == 1 {
		if flag := c.String("name"); flag != "" && flag != args[0] {
			return "", usageError(c, "cluster named twice: %q as the argument and %q by --name: give one", args[0], flag)
		}
		return checkedName(c, args[0])
	}
	return g.clusterFlag(c, fallback)
}

// clusterFlag is the cluster for commands whose positional arguments are
// something else (export logs DIR, load image IMAGE...): --name, else
// $KINC_CLUSTER_NAME, else fallback (when empty: spec.DefaultName).
func (g *globals) clusterFlag(c *ucli.Context, fallback string) (string, error) {
	name := c.String("name")
	if name == "" {
		name = g.getenv(EnvClusterName)
	}
	if name == "" {
		name = fallback
	}
	if name == "" {
		name = spec.DefaultName
	}
	return checkedName(c, name)
}

func checkedName(c *ucli.Context, name string) (string, error) {
	if err := spec.CheckName(name); err != nil {
		return "", usageError(c, "%v", err)
	}
	return name, nil
}
