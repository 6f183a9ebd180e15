package lifecycle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-multierror"

	"github.com/kinc-dev/kinc/providers"
)

// nodeLogCommands are what ExportLogs collects from every running node.
var nodeLogCommands = []struct {
	file string
	args []string
}{
	{"journal.log", []string{"journalctl", "--no-pager"}},
	{"kubelet.log", []string{"journalctl", "--no-pager", "-u", "kubelet"}},
	{"containerd.log", []string{"journalctl", "--no-pager", "-u", "containerd"}},
	{"containers.txt", []string{"ctr", "-n", "k8s.io", "containers", "ls"}},
	{"images.txt", []string{"ctr", "-n", "k8s.io", "images", "ls", "-q"}},
	{"kubeadm.yaml", []string{"cat", "/etc/kinc/kubeadm.yaml"}},
	{"pods.tar", []string{"tar", "-C", "/var/log", "-cf", "-", "pods", "containers"}},
	{"mounts.txt", []string{"cat", "/proc/self/mountinfo"}},
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
		for _, lc := range nodeLogCommands {
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
