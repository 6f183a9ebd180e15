package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

func TestDoctorReport(t *testing.T) {
	tests := []struct {
		name    string
		runtime string
		host    providers.Host
		want    []string
	}{
		{
			name: "docker without CAP_SYS_RESOURCE", runtime: "docker",
			host: providers.Host{Runtime: "docker", Version: "20.10.24", CgroupVersion: 1, MissingCaps: []string{"CAP_SYS_RESOURCE"}, CapsFrom: "dockerd (pid 1)"},
			want: []string{
				"version:         20.10.24\n",
				"rootless:        no\n",
				"cgroup version:  1\n",
				"missing caps:    CAP_SYS_RESOURCE (bounding set of dockerd (pid 1))\n",
				"privileged:      no: docker run --privileged fails without CAP_SYS_RESOURCE;",
				"ulimits:         docker's defaults\n",
				"node options:    --cgroupns=private --tmpfs /tmp --tmpfs /run --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart unless-stopped --cap-add ALL --cap-drop CAP_SYS_RESOURCE --device-cgroup-rule 'a *:* rwm' --security-opt systempaths=unconfined --device /dev/kmsg\n",
				"clusters:        can run on this host\n",
			},
		},
		{
			name: "rootless podman on cgroup v2 with delegation", runtime: "podman",
			host: providers.Host{Runtime: "podman", Version: "4.3.1", Rootless: true, CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "kinc's own process",
				NofileLimit: 1048576, NprocLimit: 31582},
			want: []string{
				"rootless:        yes: kubelet runs with the KubeletInUserNamespace feature gate",
				"cgroup version:  2\n",
				"privileged:      yes: nodes run with --privileged\n",
				"node options:    --ulimit nofile=1048576:1048576 --ulimit nproc=31582:31582 --cgroupns=private",
				"clusters:        can run on this host\n",
			},
		},
		{
			name: "rootless podman on cgroup v1", runtime: "podman",
			host: providers.Host{Runtime: "podman", Version: "4.3.1", Rootless: true, CgroupVersion: 1, PrivilegedWorks: true, CapsFrom: "kinc's own process",
				NofileLimit: 20000, NprocLimit: 32768, Problems: []string{"rootless clusters need a cgroup v2 host."}},
			want: []string{
				"rootless:        yes: kubelet runs with the KubeletInUserNamespace feature gate, containerd with restrict_oom_score_adj\n",
				"missing caps:    none (bounding set of kinc's own process)\n",
				"privileged:      yes: nodes run with --privileged\n",
				"ulimits:         nofile=20000 nproc=32768 (this host's ceilings, on every container)\n",
				"node options:    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --cgroupns=private",
				"clusters:        cannot run: rootless clusters need a cgroup v2 host.\n",
			},
		},
		{
			name: "rootless podman with a vfs store", runtime: "podman",
			host: providers.Host{Runtime: "podman", Version: "4.3.1", Rootless: true, CgroupVersion: 2, PrivilegedWorks: true, CapsFrom: "kinc's own process",
				StorageDriver: "vfs", Warnings: []string{"podman stores images with the vfs driver: fix it."}},
			want: []string{
				"storage driver:  vfs\n",
				"warning:         podman stores images with the vfs driver: fix it.\n",
				"clusters:        can run on this host\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := providers.New(tt.runtime, &run.Recorder{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			report(&out, rt, tt.host)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
