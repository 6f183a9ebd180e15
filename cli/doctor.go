package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/alessio/shellescape"
	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

func doctorCommand(g *globals) *ucli.Command {
	return &ucli.Command{
		Name:  "doctor",
		Usage: "report what the provider detected on this host and whether clusters can run",
		Description: "doctor probes the selected runtime (--provider, KINC_PROVIDER, else docker if it answers, else podman)\n" +
			"and prints its version, rootless or not, the cgroup version, whether --privileged works or the\n" +
			"fallback options kinc uses instead, the ulimits and the exact options node containers run with.\n" +
			"It exits non-zero, with the fix, when clusters cannot run on this host. doctor only reads: it\n" +
			"probes for real even with --dry-run.",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "all", Usage: "report docker and podman both (same as --provider all)"},
		},
		Action: func(c *ucli.Context) error { return doctor(c, g) },
	}
}

func doctor(c *ucli.Context, g *globals) error {
	runner := &run.Exec{}
	if c.Bool("verbose") {
		runner.Log = g.stderr
	}
	if err := checkProvider(c, true); err != nil {
		return err
	}
	provider := c.String("provider")
	if c.Bool("all") || provider == "all" {
		return doctorAll(c, g, runner)
	}
	rt, err := providers.Select(c.Context, runner, provider)
	if err != nil {
		return ucli.Exit(err.Error(), 1)
	}
	how := "selected by --provider/KINC_PROVIDER"
	if provider == "" {
		how = "selected: the first of docker, podman that answers"
		// Say why the runtimes preferred to this one were passed over.
		for _, name := range providers.Names() {
			if name == rt.Name() {
				break
			}
			if other, err := providers.New(name, runner); err == nil {
				if err := other.Probe(c.Context); err != nil {
					fmt.Fprintf(g.stdout, "not using:       %v\n", err)
				}
			}
		}
	}
	fmt.Fprintf(g.stdout, "provider:        %s (%s)\n", rt.Name(), how)
	host, err := rt.Detect(c.Context)
	if err != nil {
		return ucli.Exit(err.Error(), 1)
	}
	report(g.stdout, rt, host)
	if in, running, err := inotifyPool(c.Context, runner, rt, host); err != nil {
		fmt.Fprintf(g.stdout, "inotify:         unknown: %v\n", err)
	} else {
		reportInotify(g.stdout, in, running)
	}
	if len(host.Problems) > 0 {
		return ucli.Exit(fmt.Sprintf("clusters cannot run on this host with %s: %s", rt.Name(), strings.Join(host.Problems, " ")), 1)
	}
	return nil
}

// doctorAll reports every runtime and fails only when none can run clusters.
func doctorAll(c *ucli.Context, g *globals, runner run.Runner) error {
	var usable []string
	var failures []string
	for i, name := range providers.Names() {
		if i > 0 {
			fmt.Fprintln(g.stdout)
		}
		fmt.Fprintf(g.stdout, "provider:        %s\n", name)
		rt, err := providers.New(name, runner)
		if err == nil {
			err = rt.Probe(c.Context)
		}
		var host providers.Host
		if err == nil {
			host, err = rt.Detect(c.Context)
		}
		if err != nil {
			first := strings.SplitN(err.Error(), "\n", 2)[0]
			fmt.Fprintf(g.stdout, "clusters:        cannot run: %s\n", first)
			failures = append(failures, first)
			continue
		}
		report(g.stdout, rt, host)
		if in, running, err := inotifyPool(c.Context, runner, rt, host); err != nil {
			fmt.Fprintf(g.stdout, "inotify:         unknown: %v\n", err)
		} else {
			reportInotify(g.stdout, in, running)
		}
		if len(host.Problems) == 0 {
			usable = append(usable, name)
		} else {
			failures = append(failures, name+": "+strings.Join(host.Problems, " "))
		}
	}
	fmt.Fprintln(g.stdout)
	if len(usable) == 0 {
		return ucli.Exit(errors.New("no runtime can run clusters on this host: "+strings.Join(failures, "; ")).Error(), 1)
	}
	fmt.Fprintf(g.stdout, "kinc can use:    %s (the default is the first that answers)\n", strings.Join(usable, ", "))
	return nil
}

func report(w io.Writer, rt *providers.Runtime, h providers.Host) {
	fmt.Fprintf(w, "version:         %s\n", h.Version)
	if h.Rootless {
		// What kinc changes for nodes in a user namespace (kubeadm config
		// and the node's entrypoint).
		fmt.Fprintf(w, "rootless:        yes: kubelet runs with the KubeletInUserNamespace feature gate, containerd with restrict_oom_score_adj\n")
	} else {
		fmt.Fprintf(w, "rootless:        no\n")
	}
	fmt.Fprintf(w, "cgroup version:  %d\n", h.CgroupVersion)
	missing := "none"
	if len(h.MissingCaps) > 0 {
		missing = strings.Join(h.MissingCaps, ", ")
	}
	fmt.Fprintf(w, "missing caps:    %s (bounding set of %s)\n", missing, h.CapsFrom)
	if h.PrivilegedWorks {
		fmt.Fprintf(w, "privileged:      yes: nodes run with --privileged\n")
	} else {
		fmt.Fprintf(w, "privileged:      no: %s run --privileged fails without %s; nodes get every other capability, an allow-all device rule and unconfined security options instead\n",
			rt.Name(), strings.Join(h.MissingCaps, ", "))
	}
	if h.NofileLimit > 0 || h.NprocLimit > 0 {
		fmt.Fprintf(w, "ulimits:         nofile=%d nproc=%d (this host's ceilings, on every container)\n", h.NofileLimit, h.NprocLimit)
	} else {
		fmt.Fprintf(w, "ulimits:         %s's defaults\n", rt.Name())
	}
	fmt.Fprintf(w, "node options:    %s\n", shellescape.QuoteCommand(rt.NodeRunArgs(h)))
	if h.StorageDriver != "" {
		fmt.Fprintf(w, "storage driver:  %s\n", h.StorageDriver)
	}
	for _, warn := range h.Warnings {
		fmt.Fprintf(w, "warning:         %s\n", warn)
	}
	if len(h.Problems) == 0 {
		fmt.Fprintf(w, "clusters:        can run on this host\n")
		return
	}
	for _, p := range h.Problems {
		fmt.Fprintf(w, "clusters:        cannot run: %s\n", p)
	}
}
