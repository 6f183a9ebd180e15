package cli

import ucli "github.com/urfave/cli/v2"

func createCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "create", Usage: "create a cluster", Subcommands: []*ucli.Command{
		{Name: "cluster", Usage: "create a cluster", Action: notImplemented},
	}}
}

func deleteCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "delete", Usage: "delete clusters", Subcommands: []*ucli.Command{
		{Name: "cluster", Usage: "delete a cluster", Action: notImplemented},
		{Name: "clusters", Usage: "delete clusters", Action: notImplemented},
	}}
}

func getCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "get", Usage: "list clusters, nodes or a kubeconfig", Subcommands: []*ucli.Command{
		{Name: "clusters", Usage: "list clusters", Action: notImplemented},
		{Name: "nodes", Usage: "list a cluster's nodes", Action: notImplemented},
		{Name: "kubeconfig", Usage: "print a cluster's kubeconfig", Action: notImplemented},
	}}
}

func exportCommand(g *globals) *ucli.Command {
	return &ucli.Command{Name: "export", Usage: "export a kubeconfig or logs", Subcommands: []*ucli.Command{
		{Name: "kubeconfig", Usage: "write a cluster's kubeconfig", Action: notImplemented},
		{Name: "logs", Usage: "export a cluster's logs to a directory", Action: notImplemented},
	}}
}
