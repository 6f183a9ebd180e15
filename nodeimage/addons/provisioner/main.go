// Command provisioner is kinc's default storage provisioner
// (kinc.dev/local-path, behind the default StorageClass "standard").
//
// It runs as a DaemonSet, one instance per node, with the host directory
// --root mounted at the same path. Each instance serves only its own node:
//
//   - it provisions the pending claims of its classes that the scheduler
//     placed on its node (annotation volume.kubernetes.io/selected-node, set
//     for WaitForFirstConsumer classes): it makes <root>/pvc-<claim uid> and
//     creates a hostPath PV bound to the claim, with node affinity to the node;
//   - it deletes the Released PVs of its node whose reclaim policy is Delete:
//     first the directory, then the PV.
//
// A claim is placed on exactly one node, so exactly one instance creates its
// PV: no leader election is needed. PV names derive from the claim UID, so a
// repeated create is a harmless 409.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

func main() {
	cfg, apiServer, tokenFile, caFile, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "provisioner:", err)
		os.Exit(2)
	}
	if apiServer == "" {
		if apiServer, err = kubeapi.InClusterServer(); err != nil {
			log.Fatalf("provisioner: %v", err)
		}
	}
	kube, err := kubeapi.New(apiServer, tokenFile, caFile)
	if err != nil {
		log.Fatalf("provisioner: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Printf("provisioner %s on node %s, volumes under %s, API server %s", cfg.provisioner, cfg.nodeName, cfg.root, apiServer)
	p := newProvisioner(cfg, kube)
	for {
		if err := p.once(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Printf("pass: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.interval):
		}
	}
}

func parseFlags(args []string) (cfg config, apiServer, tokenFile, caFile string, err error) {
	fs := flag.NewFlagSet("provisioner", flag.ContinueOnError)
	fs.StringVar(&cfg.nodeName, "node-name", os.Getenv("NODE_NAME"), "this node's name (env NODE_NAME)")
	fs.StringVar(&cfg.provisioner, "provisioner-name", "kinc.dev/local-path", "StorageClass provisioner name to serve")
	fs.StringVar(&cfg.root, "root", "/var/local-path-provisioner", "host directory of the volumes, mounted at the same path")
	fs.DurationVar(&cfg.interval, "interval", 2*time.Second, "how often claims and volumes are examined")
	fs.StringVar(&apiServer, "api-server", "", "API server URL; default: in-cluster (KUBERNETES_SERVICE_HOST/PORT)")
	fs.StringVar(&tokenFile, "token-file", kubeapi.TokenFile, "bearer token file; empty: none")
	fs.StringVar(&caFile, "ca-file", kubeapi.CAFile, "API server CA bundle; empty: system roots / plain http")
	if err = fs.Parse(args); err != nil {
		return
	}
	switch {
	case cfg.nodeName == "":
		err = errors.New("node name missing: set NODE_NAME or --node-name")
	case cfg.provisioner == "":
		err = errors.New("--provisioner-name must not be empty")
	case !filepath.IsAbs(cfg.root):
		err = fmt.Errorf("--root %q must be an absolute path", cfg.root)
	case cfg.interval <= 0:
		err = errors.New("--interval must be positive")
	}
	cfg.root = filepath.Clean(cfg.root)
	return
}
