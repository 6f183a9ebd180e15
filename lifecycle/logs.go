package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
)

type nodeLogCommand struct {
	file      string
	args      []string
	needsBoot bool
}

// nodeLogCommands are what ExportLogs collects from every running node.
func nodeLogCommands() []nodeLogCommand {
	return []nodeLogCommand{
		{"journal.log", []string{"journalctl", "--no-pager"}, true},
		{"kubelet.log", []string{"journalctl", "--no-pager", "-u", "kubelet"}, true},
		{"containerd.log", []string{"journalctl", "--no-pager", "-u", "containerd"}, true},
		{"containers.txt", []string{"ctr", "--timeout", "10s", "-n", "k8s.io", "containers", "ls"}, true},
		{"images.txt", []string{"ctr", "--timeout", "10s", "-n", "k8s.io", "images", "ls", "-q"}, true},
		{"kubeadm.yaml", []string{"cat", contract.KubeadmConfigPath}, false},
		{"pods.tar", []string{"tar", "-C", "/var/log", "-cf", "-", "pods", "containers"}, true},
		{"mounts.txt", []string{"cat", "/proc/self/mountinfo"}, false},
	}
}

func booted(state string) bool {
	s := strings.TrimSpace(state)
	return s != contract.StatePaused && s != contract.StateFixing
}

// ExportLogs writes every container's logs, and from running nodes their
// journal, kubelet and containerd logs and pod logs, into dir/<container>/.
func ExportLogs(ctx context.Context, p Provider, cluster, dir string) error {
	containers, err := ClusterContainers(ctx, p, cluster)
	if err != nil {
		return err
	}
	if len(containers) == 0 {
		return fmt.Errorf("cluster %q has no containers on %s", cluster, p.Name())
	}
	var errs *multierror.Error
	for _, c := range containers {
		cdir := filepath.Join(dir, c.Name)
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			return err
		}
		logs, err := p.Logs(ctx, c.Name)
		errs = appendFile(errs, filepath.Join(cdir, "container.log"), logs, err)
		inspect, err := p.Inspect(ctx, c.Name, "{{json .}}")
		errs = appendFile(errs, filepath.Join(cdir, "inspect.json"), []byte(inspect), err)
		if c.State != "running" || c.Labels[providers.LabelRole] == RoleLoadBalancer {
			continue
		}
		state, _ := p.Exec(ctx, c.Name, providers.ExecOptions{}, "cat", contract.StateFile)
		errs = appendFile(errs, filepath.Join(cdir, "state"), state, nil)
		for _, lc := range nodeLogCommands() {
			// Before boot there is no systemd journal nor containerd to ask
			// (ctr would wait for its socket).
			if lc.needsBoot && !booted(string(state)) {
				continue
			}
			// A node that never booted has no journal: keep what there is,
			// with the reason, and go on.
			out, err := p.Exec(ctx, c.Name, providers.ExecOptions{}, lc.args...)
			if err != nil {
				out = append(out, fmt.Sprintf("\n# kinc: %v\n", err)...)
			}
			if err := os.WriteFile(filepath.Join(cdir, lc.file), out, 0o644); err != nil {
				errs = multierror.Append(errs, err)
			}
		}
	}
	return errs.ErrorOrNil()
}

func appendFile(errs *multierror.Error, path string, data []byte, err error) *multierror.Error {
	if werr := os.WriteFile(path, data, 0o644); werr != nil {
		return multierror.Append(errs, werr)
	}
	if err != nil {
		return multierror.Append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return errs
}
