// Package providers drives docker and podman through their command-line
// tools. Both share one implementation (Runtime); what differs between them
// lives in a dialect.
package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kinc-dev/kinc/providers/run"
)

// Ownership labels put on everything kinc creates.
const (
	LabelCluster = "io.kinc.cluster"
	LabelRole    = "io.kinc.role"
)

// Runtime is a container runtime driven through its CLI.
type Runtime struct {
	runner  run.Runner
	dialect dialect
	sys     system
	// timeoutScale multiplies the probe and info timeouts (SetTimeoutScale;
	// KINC_TIMEOUT_SCALE when never set), for hosts many times slower than
	// usual such as emulated VMs.
	timeoutScale float64
}

// New returns the runtime called name ("docker" or "podman").
func New(name string, runner run.Runner) (*Runtime, error) {
	d, ok := dialects[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q: use docker or podman", name)
	}
	rt := &Runtime{runner: runner, dialect: d, sys: localSystem()}
	if f, err := strconv.ParseFloat(rt.sys.getenv("KINC_TIMEOUT_SCALE"), 64); err == nil {
		rt.timeoutScale = f
	}
	return rt, nil
}

// SetTimeoutScale multiplies the timeouts of the commands that find out
// whether the runtime works; values below 1 mean 1.
func (rt *Runtime) SetTimeoutScale(f float64) { rt.timeoutScale = f }

func (rt *Runtime) scaled(d time.Duration) time.Duration {
	if rt.timeoutScale <= 1 {
		return d
	}
	return time.Duration(float64(d) * rt.timeoutScale)
}

// Name is "docker" or "podman".
func (rt *Runtime) Name() string { return rt.dialect.name }

func (rt *Runtime) cmd(args ...string) run.Cmd {
	return run.Cmd{Args: append([]string{rt.dialect.binary}, args...)}
}

func (rt *Runtime) run(ctx context.Context, args ...string) ([]byte, error) {
	return rt.runner.Run(ctx, rt.cmd(args...))
}

// query runs a command that changes nothing.
func (rt *Runtime) query(ctx context.Context, args ...string) ([]byte, error) {
	c := rt.cmd(args...)
	c.ReadOnly = true
	return rt.runner.Run(ctx, c)
}

func labelArgs(flag string, labels map[string]string) []string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		args = append(args, flag, k+"="+labels[k])
	}
	return args
}

func lines(out []byte) []string {
	var res []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			res = append(res, l)
		}
	}
	return res
}

// Mount is a bind mount of a host path, or a named volume when Volume is set.
type Mount struct {
	HostPath      string
	Volume        string
	ContainerPath string
	ReadOnly      bool
	// Propagation is a bind propagation mode such as "rshared" (optional).
	Propagation string
}

func (m Mount) arg() string {
	src := m.HostPath
	if m.Volume != "" {
		src = m.Volume
	}
	opts := []string{}
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	if m.Propagation != "" {
		opts = append(opts, m.Propagation)
	}
	s := src + ":" + m.ContainerPath
	if len(opts) > 0 {
		s += ":" + strings.Join(opts, ",")
	}
	return s
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostIP        string
	HostPort      int // 0 lets the runtime choose
	ContainerPort int
	Protocol      string // tcp (default), udp, sctp
}

func (p PortMapping) arg() string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	host := ""
	if p.HostPort != 0 {
		host = fmt.Sprint(p.HostPort)
	}
	s := fmt.Sprintf("%s:%d/%s", host, p.ContainerPort, strings.ToLower(proto))
	if p.HostIP != "" {
		ip := p.HostIP
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		s = ip + ":" + s
	}
	return s
}

// ContainerSpec describes a container to run detached.
type ContainerSpec struct {
	Name     string
	Hostname string
	Image    string
	Network  string
	// IP is a fixed address on Network (optional): it stays the
	// container's address across restarts.
	IP     string
	Labels map[string]string
	Mounts []Mount
	Ports  []PortMapping
	Tmpfs  []string
	Env    []string
	// Node asks for the options a Kubernetes node needs: privileged (or the
	// fallback this host requires), a private cgroup namespace, /dev/kmsg and
	// ulimits the host allows.
	Node bool
	// Restart gives a container that is not a node the nodes' restart
	// policy (nodes always have it).
	Restart bool
	// Args are passed to the image's entrypoint.
	Args []string
}

// NodeRunArgs are the run options of a Kubernetes node container on host:
// those every container gets (podman: ulimits within the host's ceilings)
// and privileged, or the fallback this host requires, a private cgroup
// namespace, tmpfs /tmp and /run, and systemd's stop signal.
func (rt *Runtime) NodeRunArgs(host Host) []string {
	return append(rt.dialect.runArgs(host), rt.dialect.nodeRunArgs(host)...)
}

// RunContainer starts a detached container.
func (rt *Runtime) RunContainer(ctx context.Context, host Host, spec ContainerSpec) error {
	args := []string{"run", "-d", "--name", spec.Name}
	if spec.Hostname != "" {
		args = append(args, "--hostname", spec.Hostname)
	}
	if spec.Network != "" {
		args = append(args, "--network", spec.Network)
	}
	if spec.IP != "" {
		args = append(args, "--ip", spec.IP)
	}
	if spec.Restart && !spec.Node {
		args = append(args, "--restart", rt.dialect.restartPolicy)
	}
	args = append(args, labelArgs("--label", spec.Labels)...)
	for _, m := range spec.Mounts {
		args = append(args, "--volume", m.arg())
	}
	for _, p := range spec.Ports {
		args = append(args, "--publish", p.arg())
	}
	for _, t := range spec.Tmpfs {
		args = append(args, "--tmpfs", t)
	}
	for _, e := range spec.Env {
		args = append(args, "--env", e)
	}
	args = append(args, rt.dialect.runArgs(host)...)
	if spec.Node {
		args = append(args, rt.dialect.nodeRunArgs(host)...)
	}
	args = append(args, spec.Image)
	args = append(args, spec.Args...)
	_, err := rt.run(ctx, args...)
	return err
}

// Container is a container as listed.
type Container struct {
	Name   string
	Image  string
	State  string
	Labels map[string]string
}

// ListContainers returns all containers (running or not) carrying every
// label given.
func (rt *Runtime) ListContainers(ctx context.Context, labels map[string]string) ([]Container, error) {
	out, err := rt.query(ctx, append([]string{"ps", "-a", "--format", "{{.Names}}"}, filterArgs(labels)...)...)
	if err != nil {
		return nil, err
	}
	names := lines(out)
	if len(names) == 0 {
		return nil, nil
	}
	out, err = rt.query(ctx, append([]string{"inspect", "--type", "container", "--format",
		"{{json .Name}}	{{json .Config.Image}}	{{json .State.Status}}	{{json .Config.Labels}}"}, names...)...)
	if err != nil {
		return nil, err
	}
	var res []Container
	for _, l := range lines(out) {
		fields := strings.Split(l, "	")
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s inspect: unexpected line %q", rt.Name(), l)
		}
		var c Container
		for i, dst := range []any{&c.Name, &c.Image, &c.State, &c.Labels} {
			if err := json.Unmarshal([]byte(fields[i]), dst); err != nil {
				return nil, fmt.Errorf("%s inspect: %q: %w", rt.Name(), l, err)
			}
		}
		c.Name = strings.TrimPrefix(c.Name, "/")
		res = append(res, c)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Name < res[j].Name })
	return res, nil
}

// DeleteContainers force-removes containers and their anonymous volumes.
func (rt *Runtime) DeleteContainers(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	args := append([]string{"rm", "-f", "-v"}, rt.dialect.rmArgs...)
	_, err := rt.run(ctx, append(args, names...)...)
	return err
}

// StopContainers stops containers with their stop signal, waiting up to
// timeout for each to exit before it is killed.
func (rt *Runtime) StopContainers(ctx context.Context, timeout time.Duration, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	args := []string{"stop", "--time", fmt.Sprint(int(timeout.Seconds()))}
	_, err := rt.run(ctx, append(args, names...)...)
	return err
}

// StartContainers starts stopped containers.
func (rt *Runtime) StartContainers(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := rt.run(ctx, append([]string{"start"}, names...)...)
	return err
}

// Inspect evaluates a Go template against a container's inspect data.
func (rt *Runtime) Inspect(ctx context.Context, name, format string) (string, error) {
	out, err := rt.query(ctx, "inspect", "--type", "container", "--format", format, name)
	return strings.TrimSpace(string(out)), err
}

// ContainerIP returns the container's IPv4 address on network.
func (rt *Runtime) ContainerIP(ctx context.Context, name, network string) (string, error) {
	ip, err := rt.Inspect(ctx, name, fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", network))
	if err != nil {
		return "", err
	}
	if ip == "" {
		return "", fmt.Errorf("container %s has no address on network %s", name, network)
	}
	return ip, nil
}

// HostPort returns the host address and port that containerPort/tcp of
// container name is published on.
func (rt *Runtime) HostPort(ctx context.Context, name string, containerPort int) (string, error) {
	out, err := rt.query(ctx, "port", name, fmt.Sprintf("%d/tcp", containerPort))
	if err != nil {
		return "", err
	}
	ls := lines(out)
	if len(ls) == 0 {
		return "", fmt.Errorf("container %s publishes no port for %d/tcp", name, containerPort)
	}
	return ls[0], nil
}

// ExecOptions tune Exec.
type ExecOptions struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Env    []string
	// ReadOnly: the command changes nothing (cat, test...), so a dry run
	// still runs it.
	ReadOnly bool
}

// Exec runs args inside a running container and returns its stdout.
func (rt *Runtime) Exec(ctx context.Context, container string, opts ExecOptions, args ...string) ([]byte, error) {
	cmdArgs := []string{"exec"}
	if opts.Stdin != nil {
		cmdArgs = append(cmdArgs, "-i")
	}
	for _, e := range opts.Env {
		cmdArgs = append(cmdArgs, "--env", e)
	}
	cmdArgs = append(cmdArgs, container)
	c := rt.cmd(append(cmdArgs, args...)...)
	c.Stdin, c.Stdout, c.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	c.ReadOnly = opts.ReadOnly
	return rt.runner.Run(ctx, c)
}

// CopyTo copies a host file or directory into a container.
func (rt *Runtime) CopyTo(ctx context.Context, container, hostPath, containerPath string) error {
	_, err := rt.run(ctx, "cp", hostPath, container+":"+containerPath)
	return err
}

// writeFileScript writes stdin to $1 with mode $2, creating the directory
// and replacing the file atomically; a file the runtime bind-mounts (such as
// /etc/hosts) cannot be replaced, so it is then rewritten in place. It needs
// only a POSIX shell, so it works in minimal images too; path and mode are
// arguments, never interpolated.
const writeFileScript = `set -e; mkdir -p "$(dirname "$1")"; t="$1.kinc-tmp"; cat > "$t"; chmod "$2" "$t"; ` +
	`mv -f "$t" "$1" 2>/dev/null || { cat "$t" > "$1"; rm -f "$t"; }`

// WriteFile writes data to path inside a running container, through exec
// and stdin (works in paused nodes, unlike some cp implementations).
func (rt *Runtime) WriteFile(ctx context.Context, container, path string, data []byte, mode os.FileMode) error {
	_, err := rt.Exec(ctx, container, ExecOptions{Stdin: bytes.NewReader(data)},
		"sh", "-c", writeFileScript, "kinc-write-file", path, fmt.Sprintf("%04o", mode.Perm()))
	return err
}

// Signal sends a signal (such as "SIGUSR1") to a container's main process.
func (rt *Runtime) Signal(ctx context.Context, container, signal string) error {
	_, err := rt.run(ctx, "kill", "--signal", signal, container)
	return err
}

// Logs returns a container's combined logs.
func (rt *Runtime) Logs(ctx context.Context, container string) ([]byte, error) {
	c := rt.cmd("logs", container)
	var all bytes.Buffer
	c.Stdout, c.Stderr = &all, &all
	_, err := rt.runner.Run(ctx, c)
	return all.Bytes(), err
}
