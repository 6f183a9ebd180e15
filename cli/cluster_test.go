package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/kinc-dev/kinc/lifecycle"
)

func TestReorderArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kinc doctor --provider podman", "kinc --provider podman doctor"},
		{"kinc doctor --provider=all -v", "kinc --provider=all -v doctor"},
		{"kinc create cluster --dry-run -v", "kinc --dry-run -v create cluster"},
		{"kinc create cluster dev --config c.toml --wait 2m", "kinc create cluster --config c.toml --wait 2m -- dev"},
		{"kinc -v delete cluster dev --kubeconfig k", "kinc -v delete cluster --kubeconfig k -- dev"},
		{"kinc export logs /tmp/x --name dev", "kinc export logs --name dev -- /tmp/x"},
		// build node-image has its own --provider: it stays there.
		{"kinc build node-image --provider all -v", "kinc -v build node-image --provider all"},
		{"kinc --provider podman build node-image", "kinc --provider podman build node-image"},
		// an unknown flag stays where it was written, to be reported there.
		{"kinc delete cluster --bogus x", "kinc delete cluster --bogus -- x"},
		{"kinc get nodes -- -x", "kinc get nodes -- -x"},
		{"kinc help create", "kinc help create"},
		{"kinc nosuch --dry-run", "kinc --dry-run nosuch"},
		{"kinc create cluster -h", "kinc create cluster -h"},
		{"kinc", "kinc"},
	}
	app := NewApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, tt := range tests {
		if got := strings.Join(reorderArgs(app, strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("reorderArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// run runs kinc as main does and returns stdout, stderr and the exit code.
func runKinc(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), append([]string{"kinc"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `kinc: unknown command "nosuch"`},
		{[]string{"create"}, "kinc create: name what to create\nUsage: kinc create node|cluster [options]"},
		{[]string{"create", "nosuch"}, `kinc create: unknown command "nosuch"`},
		{[]string{"delete", "cluster", "a", "b"}, "kinc delete cluster: too many arguments: [\"a\" \"b\"]\nUsage: kinc delete cluster [options] [NAME]"},
		{[]string{"delete", "cluster", "--bogus"}, "kinc delete cluster: flag provided but not defined: -bogus"},
		{[]string{"delete", "cluster", "a", "--name", "b"}, `cluster named twice: "a" as the argument and "b" by --name`},
		{[]string{"delete", "cluster", "Bad_Name"}, `"Bad_Name" is not a valid cluster name`},
		{[]string{"delete", "clusters"}, "name the clusters or use --all"},
		{[]string{"delete", "clusters", "--all", "a"}, "not both"},
		{[]string{"get", "clusters", "extra"}, `kinc get clusters: takes no arguments, got ["extra"]`},
		{[]string{"get", "clusters", "-o", "xml"}, `-o "xml": use table, json or yaml`},
		{[]string{"get", "nodes", "a", "b"}, "too many arguments"},
		{[]string{"get", "kubeconfig", "a", "b"}, "too many arguments"},
		{[]string{"export", "kubeconfig", "a", "b"}, "too many arguments"},
		{[]string{"export", "logs", "a", "b"}, "kinc export logs: too many arguments"},
		{[]string{"doctor", "extra"}, "kinc doctor: takes no arguments"},
		{[]string{"create", "cluster", "--until", "nope"}, `--until "nope": not a stage`},
		{[]string{"create", "cluster", "--wait", "soon"}, "kinc create cluster: invalid value \"soon\" for flag -wait"},
		{[]string{"create", "cluster", "a", "b"}, "too many arguments"},
		{[]string{"spec", "validate"}, "want exactly one FILE"},
		{[]string{"completion", "fish"}, `unknown shell "fish"`},
		{[]string{"get", "clusters", "--provider", "nosuch"}, `--provider "nosuch" (or KINC_PROVIDER): use docker or podman`},
		{[]string{"doctor", "--provider", "nosuch"}, `use docker, podman or all`},
		{[]string{"build", "node-image", "--provider", "nosuch"}, `use docker, podman or all`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runKinc(t, nil, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
			if strings.Count(errOut, "ERROR:") != 1 || strings.Count(errOut, tt.want) != 1 {
				t.Errorf("the error is not printed exactly once:\n%s", errOut)
			}
			if out != "" || strings.Contains(errOut, "GLOBAL OPTIONS") || strings.Contains(errOut, "OPTIONS:") {
				t.Errorf("help printed without being asked for: stdout %q stderr %q", out, errOut)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "kinc " + Version + "\n"},
		{[]string{"version"}, "kinc " + Version + "\n"},
		{[]string{"create", "cluster", "--help"}, "--from STAGE"},
		{[]string{"delete", "cluster", "-h"}, "kinc delete cluster [command options] [NAME]"},
		{[]string{"--help"}, "--quiet, -q"},
		{[]string{"help", "get"}, "clusters"},
	}
	for _, tt := range tests {
		out, errOut, code := runKinc(t, nil, tt.args...)
		if code != 0 || !strings.Contains(out, tt.want) || errOut != "" {
			t.Errorf("%v: exit %d, stdout lacks %q or stderr is not empty:\n%s\nstderr: %s", tt.args, code, tt.want, out, errOut)
		}
	}
}

func TestClusterName(t *testing.T) {
	tests := []struct {
		args []string
		env  string
		want string // "" = a usage error
	}{
		{nil, "", "kinc"},
		{nil, "fromenv", "fromenv"},
		{[]string{"dev"}, "fromenv", "dev"},
		{[]string{"--name", "dev"}, "fromenv", "dev"},
		{[]string{"-n", "dev"}, "", "dev"},
		{[]string{"dev", "--name", "dev"}, "", "dev"},
		{[]string{"dev", "--name", "prod"}, "", ""},
		{[]string{"dev", "prod"}, "", ""},
		{[]string{"-x"}, "", ""},
		{nil, "Bad", ""},
	}
	for _, tt := range tests {
		g := &globals{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string {
			if k == EnvClusterName {
				return tt.env
			}
			return ""
		}}
		var got string
		app := &ucli.App{Name: "kinc", Writer: &bytes.Buffer{}, ErrWriter: &bytes.Buffer{}, ExitErrHandler: func(*ucli.Context, error) {}, Commands: []*ucli.Command{{
			Name: "cmd", ArgsUsage: "[NAME]", Flags: []ucli.Flag{nameFlag()},
			Action: func(c *ucli.Context) (err error) { got, err = g.clusterArg(c, ""); return err },
		}}}
		guardCommands(app.Commands)
		err := app.Run(reorderArgs(app, append([]string{"kinc", "cmd"}, tt.args...)))
		switch {
		case tt.want == "" && ExitCode(err) != ExitUsage:
			t.Errorf("%v (env %q): got %q, %v; want a usage error", tt.args, tt.env, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("%v (env %q): got %q, %v; want %q", tt.args, tt.env, got, err, tt.want)
		}
	}
}

// TestOutputGolden: the -o json|yaml documents of get clusters and get
// nodes are an interface scripts rely on: their field names must not change.
func TestOutputGolden(t *testing.T) {
	clusters := []lifecycle.ClusterStatus{
		{Name: "dev", Provider: "docker", Nodes: 3, APIServer: "https://127.0.0.1:41234", Context: "kinc-dev", State: "running"},
		{Name: "old", Provider: "docker", Nodes: 1, Context: "kinc-old", State: "stopped"},
	}
	nodes := []lifecycle.NodeStatus{
		{Name: "dev-control-plane", Role: "control-plane", State: "running", IP: "10.89.0.2", Image: "kinc/node:v1.34.4-552b23ce8856"},
		{Name: "dev-worker", Role: "worker", State: "paused", IP: "10.89.0.3", Image: "kinc/node:v1.34.4-552b23ce8856"},
		{Name: "dev-worker2", Role: "worker", State: "exited", Image: "kinc/node:v1.34.4-552b23ce8856"},
	}
	for _, tt := range []struct {
		golden string
		format string
		v      any
	}{
		{"clusters.json", "json", clusters},
		{"clusters.yaml", "yaml", clusters},
		{"clusters-empty.json", "json", []lifecycle.ClusterStatus{}},
		{"nodes.json", "json", nodes},
		{"nodes.yaml", "yaml", nodes},
		{"nodes.txt", "", nodes},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			app := &ucli.App{Name: "kinc", Writer: &out, ExitErrHandler: func(*ucli.Context, error) {}, Commands: []*ucli.Command{{
				Name: "get", Flags: []ucli.Flag{outputFlag()},
				Action: func(c *ucli.Context) error {
					return printOutput(c, &out, tt.v, func(w io.Writer) error { return nodeTable(w, nodes) })
				},
			}}}
			args := []string{"kinc", "get"}
			if tt.format != "" {
				args = append(args, "-o", tt.format)
			}
			if err := app.Run(args); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("..", "testdata", "output", tt.golden)
			if os.Getenv("KINC_UPDATE_GOLDEN") != "" {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (KINC_UPDATE_GOLDEN=1 go test ./cli/ writes it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out.String())
			}
		})
	}
}
