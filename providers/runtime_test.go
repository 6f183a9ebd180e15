package providers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/alessio/shellescape"

	"github.com/kinc-dev/kinc/providers/run"
)

// newRecorded returns runtime name driven by a Recorder.
func newRecorded(t *testing.T, name string, respond func(run.Cmd) ([]byte, error)) (*Runtime, *run.Recorder) {
	t.Helper()
	rec := &run.Recorder{Respond: respond}
	rt, err := New(name, rec)
	if err != nil {
		t.Fatal(err)
	}
	rt.sys.firewall = false // whatever this machine allows
	return rt, rec
}

// docker gives fixed addresses only on networks created with a subnet: the
// network is made again with the subnet docker picked.
func TestNetworkForFixedAddresses(t *testing.T) {
	respond := func(c run.Cmd) ([]byte, error) {
		if strings.Contains(c.Line(), "network inspect") {
			return []byte("172.19.0.0/16 172.19.0.1\n"), nil
		}
		return nil, nil
	}
	tests := []struct {
		runtime string
		want    []string
	}{
		{"docker", []string{
			"docker network create --label io.kinc.cluster=c1 kinc-c1",
			"docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}\n{{end}}' kinc-c1",
			"docker network rm kinc-c1",
			"docker network create --label io.kinc.cluster=c1 --subnet 172.19.0.0/16 --gateway 172.19.0.1 kinc-c1",
		}},
		{"podman", []string{"podman network create --label io.kinc.cluster=c1 kinc-c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			rt, rec := newRecorded(t, tt.runtime, respond)
			if err := rt.CreateNetwork(context.Background(), "kinc-c1", map[string]string{LabelCluster: "c1"}); err != nil {
				t.Fatal(err)
			}
			if got := rec.Lines(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("commands:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestNetworkSubnet(t *testing.T) {
	tests := []struct {
		out  string
		want Subnet
	}{
		{"172.19.0.0/16 172.19.0.1\n", Subnet{"172.19.0.0/16", "172.19.0.1"}},
		{"fd00::/64 fd00::1\n10.89.0.0/24 10.89.0.1\n", Subnet{"10.89.0.0/24", "10.89.0.1"}},
		{"10.89.0.0/24 <nil>\n", Subnet{"10.89.0.0/24", ""}},
		{"", Subnet{}},
	}
	for _, tt := range tests {
		rt, _ := newRecorded(t, "podman", func(run.Cmd) ([]byte, error) { return []byte(tt.out), nil })
		got, err := rt.NetworkSubnet(context.Background(), "n")
		if err != nil || got != tt.want {
			t.Errorf("NetworkSubnet(%q) = %+v, %v; want %+v", tt.out, got, err, tt.want)
		}
	}
}

func TestBridgeForwardingRule(t *testing.T) {
	respond := func(c run.Cmd) ([]byte, error) {
		switch {
		case strings.Contains(c.Line(), "network inspect --format '{{.NetworkInterface}}'"):
			return []byte("podman3\n"), nil
		case c.Args[0] == "iptables" && c.Args[1] == "-C":
			return nil, &run.Error{ExitCode: 1, Err: errors.New("exit status 1")}
		}
		return nil, nil
	}
	rule := "FORWARD -i podman3 -o podman3 -m comment --comment 'kinc network kinc-c1' -j ACCEPT"
	tests := []struct {
		runtime string
		want    []string
	}{
		{"podman", []string{
			"podman network create kinc-c1",
			"podman network inspect --format '{{.NetworkInterface}}' kinc-c1",
			"iptables -C " + rule,
			"iptables -I " + rule,
		}},
		{"docker", []string{"docker network create kinc-c1", "docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}\n{{end}}' kinc-c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			rt, rec := newRecorded(t, tt.runtime, respond)
			rt.sys.firewall = true
			if err := rt.CreateNetwork(context.Background(), "kinc-c1", nil); err != nil {
				t.Fatal(err)
			}
			if got := rec.Lines(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("commands:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

var (
	// fallbackHost is this kind of machine seen from docker: no
	// CAP_SYS_RESOURCE, so no --privileged.
	fallbackHost = Host{Runtime: "docker", MissingCaps: []string{"CAP_SYS_RESOURCE"}}
	// podmanHost is the same machine seen from podman.
	podmanHost = Host{Runtime: "podman", PrivilegedWorks: true, MissingCaps: []string{"CAP_SYS_RESOURCE"}, NofileLimit: 20000, NprocLimit: 32768}
)

func TestRuntimeArgv(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{LabelRole: "node", LabelCluster: "c1"}
	tests := []struct {
		name string
		call func(rt *Runtime) error
		// want maps a runtime to its expected command lines.
		want map[string][]string
	}{
		{
			name: "create network",
			call: func(rt *Runtime) error { return rt.CreateNetwork(ctx, "kinc-c1", labels) },
			want: map[string][]string{
				"docker": {"docker network create --label io.kinc.cluster=c1 --label io.kinc.role=node kinc-c1",
					"docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}\n{{end}}' kinc-c1"},
				"podman": {"podman network create --label io.kinc.cluster=c1 --label io.kinc.role=node kinc-c1"},
			},
		},
		{
			name: "list volumes by label",
			call: func(rt *Runtime) error { _, err := rt.ListVolumes(ctx, labels); return err },
			want: map[string][]string{
				"docker": {"docker volume ls --format '{{.Name}}' --filter label=io.kinc.cluster=c1 --filter label=io.kinc.role=node"},
				"podman": {"podman volume ls --format '{{.Name}}' --filter label=io.kinc.cluster=c1 --filter label=io.kinc.role=node"},
			},
		},
		{
			name: "delete containers",
			call: func(rt *Runtime) error { return rt.DeleteContainers(ctx, "a", "b") },
			want: map[string][]string{
				"docker": {"docker rm -f -v a b"},
				"podman": {"podman rm -f -v --time 0 a b"},
			},
		},
		{
			name: "delete nothing runs nothing",
			call: func(rt *Runtime) error {
				return errors.Join(rt.DeleteContainers(ctx), rt.DeleteNetworks(ctx), rt.DeleteVolumes(ctx), rt.RemoveImages(ctx))
			},
			want: map[string][]string{"docker": nil, "podman": nil},
		},
		{
			name: "plain container",
			call: func(rt *Runtime) error {
				host := fallbackHost
				if rt.Name() == "podman" {
					host = podmanHost
				}
				return rt.RunContainer(ctx, host, ContainerSpec{
					Name: "lb", Image: "img:1", Network: "net", Labels: map[string]string{LabelCluster: "c1"},
					Mounts: []Mount{{Volume: "v", ContainerPath: "/var"}, {HostPath: "/h", ContainerPath: "/c", ReadOnly: true, Propagation: "rshared"}},
					Ports:  []PortMapping{{HostIP: "127.0.0.1", ContainerPort: 6443}, {HostIP: "::1", HostPort: 80, ContainerPort: 8080, Protocol: "UDP"}},
					Env:    []string{"A=b c"}, Args: []string{"--flag", "x y"},
				})
			},
			want: map[string][]string{
				"docker": {"docker run -d --name lb --network net --label io.kinc.cluster=c1 --volume v:/var --volume /h:/c:ro,rshared " +
					"--publish 127.0.0.1::6443/tcp --publish '[::1]:80:8080/udp' --env 'A=b c' img:1 --flag 'x y'"},
				// podman's default ulimits fail on low hard limits: every container gets the host's ceilings.
				"podman": {"podman run -d --name lb --network net --label io.kinc.cluster=c1 --volume v:/var --volume /h:/c:ro,rshared " +
					"--publish 127.0.0.1::6443/tcp --publish '[::1]:80:8080/udp' --env 'A=b c' " +
					"--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 img:1 --flag 'x y'"},
			},
		},
		{
			name: "node without CAP_SYS_RESOURCE",
			call: func(rt *Runtime) error {
				host := fallbackHost
				if rt.Name() == "podman" {
					host = podmanHost
				}
				return rt.RunContainer(ctx, host, ContainerSpec{Name: "n1", Hostname: "n1", Image: "node:1", Node: true})
			},
			want: map[string][]string{
				"docker": {"docker run -d --name n1 --hostname n1 --cgroupns=private --tmpfs /tmp --tmpfs /run " +
					"--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart unless-stopped " +
					"--cap-add ALL --cap-drop CAP_SYS_RESOURCE --device-cgroup-rule 'a *:* rwm' --security-opt systempaths=unconfined --device /dev/kmsg node:1"},
				"podman": {"podman run -d --name n1 --hostname n1 --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 --cgroupns=private --tmpfs /tmp --tmpfs /run " +
					"--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart always --privileged node:1"},
			},
		},
		{
			name: "node where privileged works",
			call: func(rt *Runtime) error {
				return rt.RunContainer(ctx, Host{Runtime: rt.Name(), PrivilegedWorks: true}, ContainerSpec{Name: "n1", Image: "node:1", Node: true})
			},
			want: map[string][]string{
				"docker": {"docker run -d --name n1 --cgroupns=private --tmpfs /tmp --tmpfs /run --security-opt seccomp=unconfined " +
					"--security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart unless-stopped --privileged node:1"},
				"podman": {"podman run -d --name n1 --cgroupns=private --tmpfs /tmp --tmpfs /run --security-opt seccomp=unconfined " +
					"--security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart always --privileged node:1"},
			},
		},
		{
			name: "podman node in the fallback unmasks paths its own way",
			call: func(rt *Runtime) error {
				if rt.Name() != "podman" {
					return nil
				}
				return rt.RunContainer(ctx, Host{Runtime: "podman", MissingCaps: []string{"CAP_SYS_RESOURCE"}}, ContainerSpec{Name: "n1", Image: "node:1", Node: true})
			},
			want: map[string][]string{
				"docker": nil,
				"podman": {"podman run -d --name n1 --cgroupns=private --tmpfs /tmp --tmpfs /run --security-opt seccomp=unconfined " +
					"--security-opt apparmor=unconfined --security-opt label=disable --stop-signal SIGRTMIN+3 --restart always " +
					"--cap-add ALL --cap-drop CAP_SYS_RESOURCE --device-cgroup-rule 'a *:* rwm' --security-opt unmask=ALL --device /dev/kmsg node:1"},
			},
		},
		{
			name: "exec with stdin and env",
			call: func(rt *Runtime) error {
				_, err := rt.Exec(ctx, "n1", ExecOptions{Stdin: strings.NewReader("x"), Env: []string{"K=v"}}, "sh", "-c", "cat > /f")
				return err
			},
			want: map[string][]string{
				"docker": {"docker exec -i --env K=v n1 sh -c 'cat > /f'"},
				"podman": {"podman exec -i --env K=v n1 sh -c 'cat > /f'"},
			},
		},
		{
			name: "write file and copy",
			call: func(rt *Runtime) error {
				return errors.Join(
					rt.WriteFile(ctx, "n1", "/etc/kinc/a b.conf", []byte("data"), 0o640),
					rt.CopyTo(ctx, "n1", "/tmp/x", "/root/x"))
			},
			want: map[string][]string{
				"docker": {"docker exec -i n1 sh -c " + shellescape.Quote(writeFileScript) + " kinc-write-file '/etc/kinc/a b.conf' 0640", "docker cp /tmp/x n1:/root/x"},
				"podman": {"podman exec -i n1 sh -c " + shellescape.Quote(writeFileScript) + " kinc-write-file '/etc/kinc/a b.conf' 0640", "podman cp /tmp/x n1:/root/x"},
			},
		},
		{
			name: "signal",
			call: func(rt *Runtime) error { return rt.Signal(ctx, "n1", "SIGUSR1") },
			want: map[string][]string{
				"docker": {"docker kill --signal SIGUSR1 n1"},
				"podman": {"podman kill --signal SIGUSR1 n1"},
			},
		},
		{
			name: "import and save images",
			call: func(rt *Runtime) error {
				return errors.Join(
					rt.ImportImage(ctx, strings.NewReader("tar"), "kinc/node:v1", `ENTRYPOINT ["/init"]`),
					rt.SaveImage(ctx, "/tmp/a.tar", "one:1"),
					rt.SaveImage(ctx, "/tmp/b.tar", "one:1", "two:2"))
			},
			want: map[string][]string{
				"docker": {`docker import --change 'ENTRYPOINT ["/init"]' - kinc/node:v1`, "docker save --output /tmp/a.tar one:1", "docker save --output /tmp/b.tar one:1 two:2"},
				"podman": {`podman import --change 'ENTRYPOINT ["/init"]' - kinc/node:v1`, "podman save --output /tmp/a.tar one:1", "podman save --output /tmp/b.tar --multi-image-archive one:1 two:2"},
			},
		},
	}
	for _, tt := range tests {
		for _, name := range Names() {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				rt, rec := newRecorded(t, name, nil)
				if err := tt.call(rt); err != nil {
					t.Fatal(err)
				}
				got := rec.Lines()
				want := tt.want[name]
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("commands:\n got  %q\n want %q", got, want)
				}
			})
		}
	}
}

func TestListContainersParsesInspect(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			rt, rec := newRecorded(t, name, func(c run.Cmd) ([]byte, error) {
				switch c.Args[1] {
				case "ps":
					return []byte("b\na\n"), nil
				case "inspect":
					return []byte("\"/b\"\t\"img:1\"\t\"running\"\t{\"io.kinc.cluster\":\"c1\"}\n" +
						"\"a\"\t\"img:2\"\t\"exited\"\t{}\n"), nil
				}
				return nil, errors.New("unexpected")
			})
			got, err := rt.ListContainers(context.Background(), map[string]string{LabelCluster: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Name != "a" || got[0].State != "exited" || got[1].Name != "b" || got[1].Labels[LabelCluster] != "c1" {
				t.Errorf("containers: %+v", got)
			}
			if lines := rec.Lines(); len(lines) != 2 || lines[0] != name+" ps -a --format '{{.Names}}' --filter label=io.kinc.cluster=c1" {
				t.Errorf("commands: %q", lines)
			}
		})
	}
}

func TestImageExists(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    bool
		wantErr bool
	}{
		{name: "present"},
		{name: "absent", err: &run.Error{ExitCode: 1, Err: errors.New("exit status 1")}, want: false},
		{name: "runtime broken", err: &run.Error{ExitCode: -1, Err: errors.New("signal: killed")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := newRecorded(t, "docker", func(run.Cmd) ([]byte, error) { return nil, tt.err })
			got, err := rt.ImageExists(context.Background(), "x")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.err == nil {
				tt.want = true
			}
			if got != tt.want {
				t.Errorf("exists = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCreateNetworkDryRun: with --dry-run the network does not exist when
// its forwarding rule is looked for; the rule is printed for it all the same.
func TestCreateNetworkDryRun(t *testing.T) {
	queries := &run.Recorder{Respond: func(c run.Cmd) ([]byte, error) {
		return nil, &run.Error{Line: c.Line(), ExitCode: 125, Err: errors.New("exit status 125")} // no such network, no rule
	}}
	var printed strings.Builder
	rt, err := New("podman", &run.DryRun{Out: &printed, Query: queries})
	if err != nil {
		t.Fatal(err)
	}
	rt.sys.firewall = true
	if err := rt.CreateNetwork(context.Background(), "kinc-c1", nil); err != nil {
		t.Fatal(err)
	}
	want := "podman network create kinc-c1\niptables -I FORWARD -i '<bridge of kinc-c1>' -o '<bridge of kinc-c1>' -m comment --comment 'kinc network kinc-c1' -j ACCEPT\n"
	if printed.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", printed.String(), want)
	}
}

func TestStoredImage(t *testing.T) {
	tests := []struct {
		runtime, out string
		want         StoredImage
	}{
		{"docker", "sha256:abc\t[\"myapp:dev\"]\n", StoredImage{ID: "sha256:abc", Tags: []string{"myapp:dev"}}},
		{"podman", "abc\t[\"localhost/myapp:dev\"]\n", StoredImage{ID: "sha256:abc", Tags: []string{"localhost/myapp:dev"}}},
		{"podman", "abc\tnull\n", StoredImage{ID: "sha256:abc"}},
	}
	for _, tt := range tests {
		rt, rec := newRecorded(t, tt.runtime, func(run.Cmd) ([]byte, error) { return []byte(tt.out), nil })
		got, ok, err := rt.StoredImage(context.Background(), "myapp:dev")
		if err != nil || !ok || got.ID != tt.want.ID || strings.Join(got.Tags, ",") != strings.Join(tt.want.Tags, ",") {
			t.Errorf("%s: StoredImage = %+v, %v, %v; want %+v", tt.runtime, got, ok, err, tt.want)
		}
		if line := rec.Lines()[0]; line != tt.runtime+" image inspect --format '{{.Id}}\t{{json .RepoTags}}' myapp:dev" {
			t.Errorf("command %q", line)
		}
	}
	rt, _ := newRecorded(t, "docker", func(c run.Cmd) ([]byte, error) {
		return nil, &run.Error{Line: c.Line(), ExitCode: 1, Err: errors.New("exit status 1")}
	})
	if _, ok, err := rt.StoredImage(context.Background(), "nope"); ok || err != nil {
		t.Errorf("missing image: ok %v err %v, want not found without error", ok, err)
	}
}

func TestTimeoutScale(t *testing.T) {
	t.Setenv("KINC_TIMEOUT_SCALE", "3")
	rt, err := New("docker", &run.Recorder{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.scaled(infoTimeout); got != 3*infoTimeout {
		t.Errorf("with KINC_TIMEOUT_SCALE=3 the info timeout is %s, want %s", got, 3*infoTimeout)
	}
	rt.SetTimeoutScale(0.5)
	if got := rt.scaled(infoTimeout); got != infoTimeout {
		t.Errorf("a scale below 1 gives %s, want kinc's own %s", got, infoTimeout)
	}
}

func TestImageStoreDir(t *testing.T) {
	tests := []struct {
		runtime, out, want, line string
	}{
		{"docker", "/var/lib/docker\n", "/var/lib/docker", "docker info --format '{{.DockerRootDir}}'"},
		{"podman", "/var/lib/containers/storage\n", "/var/lib/containers/storage", "podman info --format '{{.Store.GraphRoot}}'"},
		{"podman", "\n", "", "podman info --format '{{.Store.GraphRoot}}'"},
	}
	for _, tt := range tests {
		rt, rec := newRecorded(t, tt.runtime, func(run.Cmd) ([]byte, error) { return []byte(tt.out), nil })
		got, err := rt.ImageStoreDir(context.Background())
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("%s: %q %v, want %q", tt.runtime, got, err, tt.want)
		}
		if c := rec.Calls()[0]; c.Line() != tt.line || !c.ReadOnly {
			t.Errorf("ran %s (read-only %v)", c.Line(), c.ReadOnly)
		}
	}
}
