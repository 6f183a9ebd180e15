package lifecycle

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/kinc-dev/kinc/providers"
)

// Provider is what the lifecycle needs from a container runtime.
type Provider interface {
	Name() string
	ImageExists(ctx context.Context, name string) (bool, error)
	ImageLabel(ctx context.Context, image, key string) (string, error)

	CreateNetwork(ctx context.Context, name string, labels map[string]string) error
	ListNetworks(ctx context.Context, labels map[string]string) ([]string, error)
	DeleteNetworks(ctx context.Context, names ...string) error
	NetworkSubnet(ctx context.Context, name string) (providers.Subnet, error)
	EnsureNetworkRules(ctx context.Context, name string) error

	CreateVolume(ctx context.Context, name string, labels map[string]string) error
	ListVolumes(ctx context.Context, labels map[string]string) ([]string, error)
	DeleteVolumes(ctx context.Context, names ...string) error

	RunContainer(ctx context.Context, host providers.Host, spec providers.ContainerSpec) error
	ListContainers(ctx context.Context, labels map[string]string) ([]providers.Container, error)
	DeleteContainers(ctx context.Context, names ...string) error
	StopContainers(ctx context.Context, timeout time.Duration, names ...string) error
	StartContainers(ctx context.Context, names ...string) error
	Inspect(ctx context.Context, name, format string) (string, error)
	ContainerIP(ctx context.Context, name, network string) (string, error)
	HostPort(ctx context.Context, name string, containerPort int) (string, error)
	Exec(ctx context.Context, container string, opts providers.ExecOptions, args ...string) ([]byte, error)
	WriteFile(ctx context.Context, container, path string, data []byte, mode os.FileMode) error
	Signal(ctx context.Context, container, signal string) error
	Logs(ctx context.Context, container string) ([]byte, error)

	StoredImage(ctx context.Context, ref string) (providers.StoredImage, bool, error)
	SaveImageTo(ctx context.Context, w io.Writer, image string) error
}

var _ Provider = (*providers.Runtime)(nil)
