package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kinc-dev/kinc/lifecycle/kubeconfig"
	"github.com/kinc-dev/kinc/lifecycle/spec"
	"github.com/kinc-dev/kinc/nodeimage/contract"
	"github.com/kinc-dev/kinc/providers"
	"github.com/kinc-dev/kinc/providers/run"
)

const adminConfFixture = `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: https://t-control-plane:6443
    certificate-authority-data: Q0E=
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
contexts:
- name: kubernetes-admin@kubernetes
  context:
    cluster: kubernetes
    user: kubernetes-admin
current-context: kubernetes-admin@kubernetes
`

// fakeDocker answers the docker CLI from an in-memory set of objects, so a
// test can check both the commands and what is left afterwards.
type fakeDocker struct {
	mu         sync.Mutex
	containers map[string]map[string]string // name -> labels
	volumes    map[string]bool
	networks   map[string]bool
	images     map[string]bool
	// fail makes a command fail when its line contains the key.
	fail map[string]string
	// kubeadmConfig answers cat of the kubeadm configuration ("": missing);
	// port answers docker port ("": 127.0.0.1:6443).
	kubeadmConfig, port string
	// answers answer an exec whose command line contains the key.
	answers map[string]string
	// imageVersions: the io.kinc.kubernetes-version label of an image.
	imageVersions map[string]string
}

func newFakeDocker(images ...string) *fakeDocker {
	f := &fakeDocker{containers: map[string]map[string]string{}, volumes: map[string]bool{}, networks: map[string]bool{}, images: map[string]bool{}, fail: map[string]string{}}
	for _, i := range images {
		f.images[i] = true
	}
	return f
}

func flagValues(args []string, flag string) []string {
	var vals []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			vals = append(vals, args[i+1])
		}
	}
	return vals
}

func (f *fakeDocker) respond(c run.Cmd) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := c.Line()
	for key, msg := range f.fail {
		if strings.Contains(line, key) {
			return []byte("partial output\n"), &run.Error{Line: line, ExitCode: 1, Output: msg, Err: errors.New("exit status 1")}
		}
	}
	a := c.Args[1:]
	switch {
	case a[0] == "image" && a[1] == "inspect" && strings.Contains(line, "Labels"):
		if f.images[a[len(a)-1]] {
			return []byte(f.imageVersions[a[len(a)-1]] + "\n"), nil
		}
		return nil, &run.Error{Line: line, ExitCode: 1, Err: errors.New("exit status 1")}
	case a[0] == "image" && a[1] == "inspect":
		if f.images[a[len(a)-1]] {
			return []byte("sha256:1\n"), nil
		}
		return nil, &run.Error{Line: line, ExitCode: 1, Err: errors.New("exit status 1")}
	case a[0] == "network" && a[1] == "create":
		f.networks[a[len(a)-1]] = true
	case a[0] == "network" && a[1] == "inspect":
		if !f.networks[a[len(a)-1]] {
			return nil, &run.Error{Line: line, ExitCode: 1, Err: errors.New("exit status 1")}
		}
		return []byte("172.18.0.0/16 172.18.0.1\n"), nil
	case a[0] == "network" && a[1] == "ls":
		return names(f.networks), nil
	case a[0] == "network" && a[1] == "rm":
		for _, n := range a[2:] {
			delete(f.networks, n)
		}
	case a[0] == "volume" && a[1] == "create":
		f.volumes[a[len(a)-1]] = true
	case a[0] == "volume" && a[1] == "ls":
		return names(f.volumes), nil
	case a[0] == "volume" && a[1] == "rm":
		for _, n := range a[3:] {
			delete(f.volumes, n)
		}
	case a[0] == "run":
		labels := map[string]string{}
		for _, kv := range flagValues(a, "--label") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
		f.containers[flagValues(a, "--name")[0]] = labels
	case a[0] == "ps":
		var out []string
		for name := range f.containers {
			out = append(out, name)
		}
		slices.Sort(out)
		return []byte(strings.Join(out, "\n")), nil
	case a[0] == "inspect" && strings.Contains(line, "IPAddress"):
		return []byte("172.18.0.9\n"), nil
	case a[0] == "inspect" && a[4] == "{{json .}}":
		return []byte("{}"), nil
	case a[0] == "inspect":
		var out []string
		for _, name := range a[5:] {
			out = append(out, fmt.Sprintf(`"/%s"	"img"	"running"	{"io.kinc.cluster":%q,"io.kinc.role":%q}`, name, f.containers[name]["io.kinc.cluster"], f.containers[name]["io.kinc.role"]))
		}
		return []byte(strings.Join(out, "\n")), nil
	case a[0] == "rm":
		for _, n := range a[3:] {
			delete(f.containers, n)
		}
	case a[0] == "port":
		if f.port != "" {
			return []byte(f.port + "\n"), nil
		}
		return []byte("127.0.0.1:6443\n"), nil
	case a[0] == "exec" && a[1] == "-i":
		return f.exec(a[3:]...)
	case a[0] == "exec":
		return f.exec(a[2:]...)
	}
	return nil, nil
}

func (f *fakeDocker) exec(args ...string) ([]byte, error) {
	for key, answer := range f.answers {
		if strings.Contains(strings.Join(args, " "), key) {
			return []byte(answer), nil
		}
	}
	switch {
	case args[0] == "cat" && args[1] == contract.StateFile:
		return []byte("paused\n"), nil
	case args[0] == "cat" && args[1] == "/etc/resolv.conf":
		return []byte("nameserver 192.0.2.53\n"), nil
	case args[0] == "cat" && args[1] == adminConf:
		return []byte(adminConfFixture), nil
	case args[0] == "cat" && args[1] == contract.KubeadmConfigPath:
		if f.kubeadmConfig == "" {
			return nil, &run.Error{ExitCode: 1, Err: errors.New("exit status 1")}
		}
		return []byte(f.kubeadmConfig), nil
	case args[0] == "test":
		return nil, &run.Error{ExitCode: 1, Err: errors.New("exit status 1")}
	case args[0] == "kubectl" && slices.Contains(args, "nodes"):
		var out []string
		for name, labels := range f.containers {
			if labels["io.kinc.role"] != RoleLoadBalancer {
				out = append(out, "node/"+name+" True")
			}
		}
		return []byte(strings.Join(out, "\n")), nil
	case args[0] == "kubectl" && slices.Contains(args, "daemonsets,deployments"):
		return []byte("DaemonSet/kube-proxy 3/3\nDeployment/coredns 2/2\n"), nil
	}
	return nil, nil
}

func names(set map[string]bool) []byte {
	var out []string
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return []byte(strings.Join(out, "\n"))
}

func testSpec(t *testing.T, roles ...string) *spec.Cluster {
	t.Helper()
	s := &spec.Cluster{Name: "t", KubernetesVersion: "v1.34.4", Networking: spec.Networking{
		APIServerAddress: "127.0.0.1", PodSubnet: "10.244.0.0/16", ServiceSubnet: "10.96.0.0/16", KubeProxyMode: "iptables",
	}}
	for _, r := range roles {
		s.Nodes = append(s.Nodes, spec.Node{Role: r})
	}
	return s
}

func newTestCreate(t *testing.T, f *fakeDocker, s *spec.Cluster) (CreateOptions, *run.Recorder) {
	t.Helper()
	rec := &run.Recorder{Respond: f.respond}
	rt, err := providers.New("docker", rec)
	if err != nil {
		t.Fatal(err)
	}
	return CreateOptions{
		Spec: s, Provider: rt, Host: providers.Host{PrivilegedWorks: true},
		Images:     Images{Node: "node:1", LoadBalancer: "lb:1", CNI: "cni:1", Provisioner: "prov:1"},
		Kubeconfig: filepath.Join(t.TempDir(), "config"),
		LogsDir:    filepath.Join(t.TempDir(), "logs"),
	}, rec
}

// indexOf returns the position of the first recorded line containing every part.
func indexOf(t *testing.T, lines []string, parts ...string) int {
	t.Helper()
	for i, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return i
		}
	}
	t.Fatalf("no command contains %q in:\n%s", parts, strings.Join(lines, "\n"))
	return -1
}

func TestCreateRunsStagesInOrder(t *testing.T) {
	tests := []struct {
		name       string
		roles      []string
		containers []string
	}{
		{"single", []string{"control-plane"}, []string{"t-control-plane"}},
		{"workers", []string{"control-plane", "worker", "worker"}, []string{"t-control-plane", "t-worker", "t-worker2"}},
		{"ha", []string{"control-plane", "control-plane", "worker"}, []string{"t-control-plane", "t-control-plane2", "t-external-load-balancer", "t-worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker("node:1", "lb:1")
			o, rec := newTestCreate(t, f, testSpec(t, tt.roles...))
			o.Wait = 1e9
			res, err := Create(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tm := range res.Timings {
				got = append(got, tm.Stage)
			}
			if !slices.Equal(got, StageNames()) {
				t.Errorf("stages run %v, want %v", got, StageNames())
			}
			if have := names(boolSet(f.containers)); string(have) != strings.Join(tt.containers, "\n") {
				t.Errorf("containers %q, want %q", have, tt.containers)
			}
			lines := rec.Lines()
			order := []int{
				indexOf(t, lines, "network create", "kinc-t"),
				indexOf(t, lines, "docker run", "t-control-plane"),
				indexOf(t, lines, "docker kill --signal SIGUSR1 t-control-plane"),
				indexOf(t, lines, "kubeadm init"),
				indexOf(t, lines, "kubectl", "apply"),
			}
			if !slices.IsSorted(order) {
				t.Errorf("commands out of order %v:\n%s", order, strings.Join(lines, "\n"))
			}
			for _, n := range tt.containers[1:] {
				if !strings.Contains(n, "balancer") && indexOf(t, lines, "exec", n, "kubeadm join") < order[3] {
					t.Errorf("%s joined before kubeadm init", n)
				}
			}
			// Only workers wait for their kubelet client certificate; a
			// joining control plane's kubelet must start its API server.
			for _, n := range tt.containers {
				written := slices.ContainsFunc(lines, func(l string) bool {
					return strings.Contains(l, "exec -i "+n+" ") && strings.Contains(l, "kubeletconfiguration000+merge.yaml")
				})
				if worker := strings.Contains(n, "worker"); written != worker {
					t.Errorf("%s: kubelet patch written %v, want %v", n, written, worker)
				}
			}
			ok, err := kubeconfig.Contains(o.Kubeconfig, "kinc-t")
			if err != nil || !ok {
				t.Errorf("kubeconfig has no context kinc-t (err %v)", err)
			}
			if st, err := os.Stat(o.Kubeconfig); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("kubeconfig mode: %v %v", st, err)
			}
		})
	}
}

func boolSet(m map[string]map[string]string) map[string]bool {
	s := map[string]bool{}
	for k := range m {
		s[k] = true
	}
	return s
}

func TestCreateFailureCleansUp(t *testing.T) {
	for _, retain := range []bool{false, true} {
		t.Run(fmt.Sprintf("retain=%t", retain), func(t *testing.T) {
			f := newFakeDocker("node:1")
			f.fail["kubeadm init"] = "[ERROR] the control plane never came up"
			o, _ := newTestCreate(t, f, testSpec(t, "control-plane", "worker"))
			o.Retain = retain
			_, err := Create(context.Background(), o)
			if err == nil {
				t.Fatal("Create succeeded, want the kubeadm failure")
			}
			for _, want := range []string{"stage kubeadm", "node t-control-plane", "kubeadm init --config", "the control plane never came up"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			// One failure is one error: where the logs are and what was
			// kept are notes, not more errors.
			var failed *FailedError
			if !errors.As(err, &failed) {
				t.Fatalf("error %T is not a *FailedError", err)
			}
			if strings.Contains(err.Error(), "Logs of") || strings.Contains(err.Error(), "errors occurred") {
				t.Errorf("the error carries the notes or several errors:\n%v", err)
			}
			wantNotes := []string{"Logs of the failed cluster are in " + o.LogsDir}
			if retain {
				wantNotes = append(wantNotes, `Cluster "t" is kept (--retain); delete it with: kinc delete cluster t`)
			}
			if !slices.Equal(failed.Notes(), wantNotes) {
				t.Errorf("notes %q, want %q", failed.Notes(), wantNotes)
			}
			if _, serr := os.Stat(filepath.Join(o.LogsDir, "t-control-plane", "container.log")); serr != nil {
				t.Errorf("logs not exported: %v", serr)
			}
			left := len(f.containers) + len(f.volumes) + len(f.networks)
			if retain && left == 0 {
				t.Error("--retain deleted the cluster")
			}
			if !retain && left != 0 {
				t.Errorf("left behind: containers %v volumes %v networks %v", f.containers, f.volumes, f.networks)
			}
		})
	}
}

func TestCreateRefusesBeforeCreatingAnything(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeDocker)
		want  string
	}{
		{"existing cluster", func(f *fakeDocker) {
			f.containers["t-control-plane"] = map[string]string{"io.kinc.cluster": "t"}
		}, "cluster already exists"},
		{"missing image", func(f *fakeDocker) { delete(f.images, "node:1") }, "kinc build node-image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker("node:1")
			tt.setup(f)
			o, rec := newTestCreate(t, f, testSpec(t, "control-plane"))
			_, err := Create(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			for _, l := range rec.Lines() {
				if strings.Contains(l, " create ") || strings.Contains(l, "docker run") || strings.Contains(l, " rm ") {
					t.Errorf("changed something: %s", l)
				}
			}
		})
	}
}

func TestUntilStopsAfterStage(t *testing.T) {
	f := newFakeDocker("node:1")
	o, rec := newTestCreate(t, f, testSpec(t, "control-plane"))
	o.Until = "boot"
	res, err := Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if last := res.Timings[len(res.Timings)-1].Stage; last != "boot" {
		t.Errorf("last stage %s, want boot", last)
	}
	for _, l := range rec.Lines() {
		if strings.Contains(l, "kubeadm init") {
			t.Errorf("ran past boot: %s", l)
		}
	}
	f2 := newFakeDocker("node:1")
	o2, _ := newTestCreate(t, f2, testSpec(t, "control-plane"))
	o2.Until = "nope"
	if _, err := Create(context.Background(), o2); err == nil || !strings.Contains(err.Error(), `unknown stage "nope"`) {
		t.Errorf("error %v, want unknown stage", err)
	}
}

func TestCreateTakesTheImagesKubernetesVersion(t *testing.T) {
	given, err := spec.Parse("cluster.toml", []byte("kubernetes_version = \"v1.34.4\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	mixed := testSpec(t, "control-plane", "worker")
	mixed.Nodes[1].Image = "node:2"
	tests := []struct {
		name     string
		spec     *spec.Cluster
		versions map[string]string
		// want is the version kubeadm is configured for, or wantErr's text.
		want, wantErr string
	}{
		{"image without kinc's label keeps the spec's", testSpec(t, "control-plane"), nil, "v1.34.4", ""},
		{"image of the spec's version", testSpec(t, "control-plane"), map[string]string{"node:1": "v1.34.4"}, "v1.34.4", ""},
		{"defaulted version follows the image", testSpec(t, "control-plane"), map[string]string{"node:1": "v1.33.13"}, "v1.33.13", ""},
		{"version the file gives is not overridden", given, map[string]string{"node:1": "v1.33.13"}, "",
			"cluster.toml:1: kubernetes_version: is v1.34.4, but node image node:1 carries Kubernetes v1.33.13"},
		{"images of two versions", mixed, map[string]string{"node:1": "v1.33.13", "node:2": "v1.34.4"}, "",
			"node:1 carries v1.33.13; node:2 carries v1.34.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker("node:1", "node:2")
			f.imageVersions = tt.versions
			o, rec := newTestCreate(t, f, tt.spec)
			o.Until = "configure"
			res, err := Create(context.Background(), o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				for _, l := range rec.Lines() {
					if strings.Contains(l, " create ") || strings.Contains(l, "docker run") {
						t.Errorf("created something: %s", l)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Cluster.Spec.KubernetesVersion; got != tt.want {
				t.Errorf("kubeadm configured for %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPlanNodesNamesKindStyle(t *testing.T) {
	nodes := planNodes("c", []spec.Node{{Role: "control-plane"}, {Role: "worker"}, {Role: "control-plane", Image: "x"}, {Role: "worker"}}, "def")
	var got []string
	for _, n := range nodes {
		got = append(got, fmt.Sprintf("%s/%s/%t", n.Name, n.Image, n.Init))
	}
	want := []string{"c-control-plane/def/true", "c-worker/def/false", "c-control-plane2/x/false", "c-worker2/def/false"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDryRunPrintsEveryStageAndChangesNothing(t *testing.T) {
	f := newFakeDocker("node:1", "lb:1")
	queries := &run.Recorder{Respond: f.respond}
	var printed strings.Builder
	rt, err := providers.New("docker", &run.DryRun{Out: &printed, Query: queries})
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "config")
	var progress strings.Builder
	o := CreateOptions{Spec: testSpec(t, "control-plane", "control-plane", "worker"), Provider: rt,
		Images: Images{Node: "node:1", LoadBalancer: "lb:1", CNI: "cni:1", Provisioner: "prov:1"}, DryRun: true,
		Progress: &progress, Kubeconfig: kc, Wait: time.Minute}
	res, err := Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Timings); n != len(Stages()) {
		t.Errorf("stages %v, want all %d", res.Timings, len(Stages()))
	}
	for _, want := range []string{
		"docker network create", "docker run -d --name t-control-plane ", "docker run -d --name t-control-plane2 ",
		"docker run -d --name t-worker ", "docker run -d --name t-external-load-balancer ", // provision
		"docker exec -i t-worker sh -c", "kinc-write-file /etc/kinc/kubeadm.yaml 0644", // configure
		"docker kill --signal SIGUSR1 t-control-plane2", // boot
		"docker exec t-control-plane kubeadm init --config /etc/kinc/kubeadm.yaml", "--upload-certs",
		"docker exec t-control-plane2 kubeadm join", "docker exec t-worker kubeadm join", // kubeadm
		"docker exec -i t-control-plane kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -", // cni, storage
	} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("dry run did not print %q:\n%s", want, printed.String())
		}
	}
	for _, want := range []string{"would wait up to 1m0s", "would merge context kinc-t", kc} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("dry-run progress lacks %q:\n%s", want, progress.String())
		}
	}
	for _, l := range queries.Lines() {
		if !strings.Contains(l, " ps ") && !strings.Contains(l, " inspect ") && !strings.Contains(l, " ls ") && !strings.Contains(l, " test -e ") {
			t.Errorf("dry run ran a command that is not a query: %s", l)
		}
	}
	if len(f.containers)+len(f.networks)+len(f.volumes) != 0 {
		t.Error("dry run created something")
	}
	if _, err := os.Stat(kc); !os.IsNotExist(err) {
		t.Errorf("dry run wrote the kubeconfig: %v", err)
	}
}

// TestResumeAtEveryStage stops after each stage and continues from the
// next: the cluster ends up complete, nothing before --from runs again, and
// what the earlier stages learnt (the API server port, the token) is read
// back rather than made anew.
func TestResumeAtEveryStage(t *testing.T) {
	names := StageNames()
	for i := 0; i+1 < len(names); i++ {
		until, from := names[i], names[i+1]
		t.Run(until+"->"+from, func(t *testing.T) {
			f := newFakeDocker("node:1")
			o, rec := newTestCreate(t, f, testSpec(t, "control-plane", "worker"))
			o.Until = until
			if _, err := Create(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			firstRun := len(rec.Lines())
			o.Until, o.From = "", from
			res, err := Create(context.Background(), o)
			if err != nil {
				t.Fatalf("--from %s: %v", from, err)
			}
			if res.Timings[0].Stage != from || len(res.Timings) != len(names)-i-1 {
				t.Errorf("--from %s ran %v", from, res.Timings)
			}
			again := rec.Lines()[firstRun:]
			for _, l := range again {
				if strings.Contains(l, "docker run ") || strings.Contains(l, "network create") {
					t.Errorf("--from %s provisioned again: %s", from, l)
				}
			}
			if ok, err := kubeconfig.Contains(o.Kubeconfig, "kinc-t"); !ok || err != nil {
				t.Errorf("no context kinc-t after --from %s (%v)", from, err)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		f := newFakeDocker("node:1")
		o, _ := newTestCreate(t, f, testSpec(t, "control-plane"))
		o.From = "boot"
		if _, err := Create(context.Background(), o); err == nil || !strings.Contains(err.Error(), "nothing to continue") {
			t.Errorf("--from on a missing cluster: %v", err)
		}
		o.From, o.Until = "kubeadm", "boot"
		if _, err := Create(context.Background(), o); err == nil || !strings.Contains(err.Error(), "comes after --until") {
			t.Errorf("--from after --until: %v", err)
		}
	})
}

func TestResumeReadsTheTokenBack(t *testing.T) {
	f := newFakeDocker("node:1", "lb:1")
	o, _ := newTestCreate(t, f, testSpec(t, "control-plane", "control-plane"))
	f.containers["t-control-plane"] = map[string]string{"io.kinc.cluster": "t", "io.kinc.role": "control-plane"}
	f.containers["t-control-plane2"] = map[string]string{"io.kinc.cluster": "t", "io.kinc.role": "control-plane"}
	f.containers["t-external-load-balancer"] = map[string]string{"io.kinc.cluster": "t", "io.kinc.role": "load-balancer"}
	f.kubeadmConfig = "bootstrapTokens:\n- token: \"abcdef.0123456789abcdef\"\ncertificateKey: \"" + strings.Repeat("ab", 32) + "\"\n"
	f.port = "127.0.0.1:41234"
	o.From, o.Until = "configure", "configure"
	res, err := Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cluster
	if c.Token != "abcdef.0123456789abcdef" || c.CertificateKey != strings.Repeat("ab", 32) || c.APIServerPort != 41234 || c.Nodes[1].IP != "172.18.0.9" {
		t.Errorf("resumed with token %q key %q port %d ip %q", c.Token, c.CertificateKey, c.APIServerPort, c.Nodes[1].IP)
	}
}

func TestLiveProgress(t *testing.T) {
	var out lockedBuffer
	c := &Cluster{Progress: &out}
	stop := c.startStage("kubeadm", time.Now(), true)
	time.Sleep(3 * liveInterval)
	c.detail("init %s", "n1")
	stop()
	c.endStage("✓", "kubeadm", 1500*time.Millisecond)
	got := out.String()
	for _, want := range []string{clearLine + " • kubeadm        0.0s", clearLine + "   init n1\n" + clearLine + " • kubeadm ", clearLine + " ✓ kubeadm        1.5s\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("live progress lacks %q:\n%q", want, got)
		}
	}
	if n := strings.Count(got, " • kubeadm "); n < 3 {
		t.Errorf("the clock was drawn %d times in %s, want it redrawn: %q", n, 3*liveInterval, got)
	}
	var plain strings.Builder
	c = &Cluster{Progress: &plain}
	c.startStage("kubeadm", time.Now(), false)()
	c.endStage("✓", "kubeadm", time.Second)
	if want := " • kubeadm     ...\n ✓ kubeadm        1.0s\n"; plain.String() != want {
		t.Errorf("plain progress %q, want %q", plain.String(), want)
	}
}

func TestNotReady(t *testing.T) {
	tests := []struct {
		status string
		nodes  int
		want   []string
	}{
		{"node/a True\nnode/b True\nDaemonSet/kube-proxy 2/2\nDeployment/coredns 2/2", 2, nil},
		{"node/a True\nnode/b False\nDaemonSet/kube-proxy 1/2\nDeployment/coredns 0/2", 2,
			[]string{"node/b", "DaemonSet/kube-proxy (1/2 available)", "Deployment/coredns (0/2 available)"}},
		{"node/a True\nDaemonSet/kincnet /1", 2, []string{"DaemonSet/kincnet (/1 available)", "1 of 2 nodes registered"}},
	}
	for _, tt := range tests {
		if got := notReady(tt.status, tt.nodes); !slices.Equal(got, tt.want) {
			t.Errorf("notReady(%q) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestNodeErrorSaysTheOutputOnce(t *testing.T) {
	cmdErr := &run.Error{Line: "docker exec n kubeadm init", ExitCode: 1, Output: "error: it broke", Err: errors.New("exit status 1")}
	tests := []struct {
		name     string
		output   string
		want     []string
		wantOnce string
	}{
		{name: "combined output holds the error", output: "[init] working\nerror: it broke",
			want: []string{"node n: command failed: docker exec n kubeadm init: exit status 1", "[init] working"}, wantOnce: "error: it broke"},
		{name: "combined output lacks the error", output: "[init] working",
			want: []string{"docker exec n kubeadm init", "error: it broke", "[init] working"}, wantOnce: "error: it broke"},
		{name: "combined output is the error alone (ctr: stderr only)", output: "error: it broke",
			want: []string{"node n: command failed: docker exec n kubeadm init: exit status 1", "error: it broke"}, wantOnce: "error: it broke"},
		{name: "no output", want: []string{"node n: command failed: docker exec n kubeadm init: exit status 1", "error: it broke"}, wantOnce: "error: it broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := (&NodeError{Node: "n", Err: cmdErr, Output: tt.output}).Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if n := strings.Count(msg, tt.wantOnce); n != 1 {
				t.Errorf("%q says %q %d times, want once", msg, tt.wantOnce, n)
			}
		})
	}
}

func TestWaitTimeoutNamesThePods(t *testing.T) {
	f := newFakeDocker("node:1")
	f.answers = map[string]string{
		"daemonsets,deployments": "DaemonSet/kube-proxy 0/1\nDeployment/coredns 0/2\n",
		"get pods -A": "kube-system/kube-proxy-x Running kube-proxy=false:CrashLoopBackOff:3;\n" +
			"kube-system/coredns-1 Pending \n" +
			"kube-system/etcd-t Running etcd=true::0;\n" +
			"default/job-1 Succeeded \n",
		"logs kube-proxy-x -c kube-proxy --tail 1 --previous": "I1202 started\nE1202 server.go:1 \"failed complete\" err=\"too many open files\"\n",
	}
	o, _ := newTestCreate(t, f, testSpec(t, "control-plane"))
	o.Wait = 600 * time.Millisecond
	_, err := Create(context.Background(), o)
	if err == nil {
		t.Fatal("Create succeeded, want the wait to time out")
	}
	for _, want := range []string{
		"timed out after 600ms waiting for the cluster to be ready",
		"pods not ready:",
		`kube-system/kube-proxy-x: CrashLoopBackOff: E1202 server.go:1 "failed complete" err="too many open files"`,
		"kube-system/coredns-1: Pending",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, not := range []string{"etcd-t", "job-1"} {
		if strings.Contains(err.Error(), not) {
			t.Errorf("error names %s, which is fine:\n%v", not, err)
		}
	}
}

func TestPreflightRunsAfterTheNameCheckAndBeforeAnything(t *testing.T) {
	refuse := func(context.Context) error { return errors.New("inotify limits too low") }
	f := newFakeDocker("node:1")
	o, rec := newTestCreate(t, f, testSpec(t, "control-plane"))
	o.Preflight = refuse
	if _, err := Create(context.Background(), o); err == nil || !strings.Contains(err.Error(), "inotify limits too low") {
		t.Fatalf("error %v, want the preflight's", err)
	}
	for _, l := range rec.Lines() {
		if strings.Contains(l, " create ") || strings.Contains(l, "docker run") {
			t.Errorf("created something after the preflight refused: %s", l)
		}
	}
	// An existing cluster is said first: the preflight does not hide it.
	f.containers["t-control-plane"] = map[string]string{"io.kinc.cluster": "t"}
	if _, err := Create(context.Background(), o); !errors.Is(err, ErrClusterExists) {
		t.Errorf("error %v, want ErrClusterExists", err)
	}
}

func TestScaled(t *testing.T) {
	for _, tt := range []struct {
		scale float64
		want  time.Duration
	}{
		{0, 90 * time.Second},   // unset
		{0.5, 90 * time.Second}, // never shorter than kinc's own wait
		{1, 90 * time.Second},
		{10, 15 * time.Minute},
		{2.5, 225 * time.Second},
	} {
		c := &Cluster{timeoutScale: tt.scale}
		if got := c.scaled(90 * time.Second); got != tt.want {
			t.Errorf("scale %v: scaled(90s) = %s, want %s", tt.scale, got, tt.want)
		}
	}
}

func TestSlowProbePatches(t *testing.T) {
	if p := slowProbePatches(1); len(p) != 0 {
		t.Errorf("scale 1 patches the control plane: %v", p)
	}
	p := slowProbePatches(10)
	for _, target := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		want := "  - name: " + target + "\n    livenessProbe:\n      timeoutSeconds: 150\n      failureThreshold: 80\n    startupProbe:\n      timeoutSeconds: 150\n      failureThreshold: 240\n"
		if !strings.Contains(p[target], want) {
			t.Errorf("%s patch:\n%s\nwant it to contain:\n%s", target, p[target], want)
		}
	}
	for _, target := range []string{"etcd", "kube-apiserver"} {
		if !strings.HasSuffix(p[target], "    readinessProbe:\n      timeoutSeconds: 150\n") {
			t.Errorf("%s patch lacks its readiness probe:\n%s", target, p[target])
		}
	}
	if strings.Contains(p["kube-controller-manager"], "readinessProbe") {
		t.Errorf("kube-controller-manager has no readiness probe to stretch:\n%s", p["kube-controller-manager"])
	}
}

func TestCgroupV1Warning(t *testing.T) {
	for _, tc := range []struct {
		cgroup  int
		version string
		warn    bool
	}{
		{1, "v1.34.4", false},
		{1, "v1.35.4", true},
		{1, "v1.37.2", true},
		{2, "v1.37.2", false},
		{1, "weird", false},
	} {
		got := cgroupV1Warning(providers.Host{CgroupVersion: tc.cgroup}, tc.version)
		if (got != "") != tc.warn || (tc.warn && !strings.Contains(got, "failCgroupV1: false")) {
			t.Errorf("cgroup v%d, %s: %q", tc.cgroup, tc.version, got)
		}
	}
}
