// Command lb is kinc's control-plane load balancer: a TCP proxy that runs as
// its own container next to the node containers of a cluster with more than
// one control plane. It forwards every connection to one healthy backend,
// round-robin, checks each backend with a TCP connect every --health-interval,
// and on SIGHUP re-reads the backends listed in --config.
//
// Usage:
//
//	lb --listen :6443 --backend kinc-control-plane:6443 --backend kinc-control-plane2:6443
//	lb --listen :6443 --config /etc/kinc-lb/backends   # one host:port a line, '#' comments
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// backendList is a repeatable --backend flag.
type backendList []string

func (b *backendList) String() string { return strings.Join(*b, ",") }

func (b *backendList) Set(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("backend %q: want host:port: %w", v, err)
	}
	*b = append(*b, v)
	return nil
}

func main() {
	var (
		listen         = flag.String("listen", ":6443", "address to listen on")
		configPath     = flag.String("config", "", "file listing backends, one host:port a line; re-read on SIGHUP")
		healthInterval = flag.Duration("health-interval", time.Second, "how often every backend is checked with a TCP connect")
		dialTimeout    = flag.Duration("dial-timeout", time.Second, "timeout of health checks and of connecting to a backend")
		static         backendList
	)
	flag.Var(&static, "backend", "backend host:port (repeatable); always kept, in addition to --config")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("lb: %v", err)
	}
	log.Printf("listening on %s", ln.Addr())
	if err := run(ctx, ln, *configPath, static, *healthInterval, *dialTimeout); err != nil {
		log.Fatalf("lb: %v", err)
	}
}

// run proxies connections from ln until ctx ends, re-reading the backends
// from configPath on every SIGHUP.
func run(ctx context.Context, ln net.Listener, configPath string, static []string, healthInterval, dialTimeout time.Duration) error {
	p := NewProxy(healthInterval, dialTimeout)
	load := func() error {
		backends, err := loadBackends(static, configPath)
		if err != nil {
			return err
		}
		p.SetBackends(backends)
		return nil
	}
	if err := load(); err != nil {
		ln.Close()
		return err
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Printf("SIGHUP: reloading backends")
				if err := load(); err != nil {
					log.Printf("reload failed, keeping the current backends: %v", err)
				}
			}
		}
	}()

	err := p.Serve(ctx, ln)
	if errors.Is(err, net.ErrClosed) && ctx.Err() != nil {
		log.Printf("shutting down")
		return nil
	}
	return err
}

// loadBackends returns static followed by the backends in the file at path
// (if path is not empty), without duplicates. A config that yields no backend
// at all is an error.
func loadBackends(static []string, path string) ([]string, error) {
	out := append([]string(nil), static...)
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read backends: %w", err)
		}
		fromFile, err := parseBackends(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, fromFile...)
	}
	out = dedupe(out)
	if len(out) == 0 {
		return nil, errors.New("no backends: give --backend or --config")
	}
	return out, nil
}

// parseBackends parses one host:port a line; blank lines and '#' comments are
// ignored.
func parseBackends(s string) ([]string, error) {
	var out []string
	for i, line := range strings.Split(s, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(line); err != nil {
			return nil, fmt.Errorf("line %d: backend %q: want host:port: %w", i+1, line, err)
		}
		out = append(out, line)
	}
	return out, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
