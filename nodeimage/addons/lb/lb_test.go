package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testBackend is a real TCP server that greets every connection with its
// name and then echoes lines.
type testBackend struct {
	name string
	addr string
	ln   net.Listener

	mu    sync.Mutex
	conns []net.Conn
}

func startBackend(t *testing.T, name, addr string) *testBackend {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	b := &testBackend{name: name, addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			go func() {
				defer c.Close()
				if _, err := io.WriteString(c, name+"\n"); err != nil {
					return
				}
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(b.kill)
	return b
}

// stopListening stops accepting; open connections stay open and silent, like
// a backend whose host vanished.
func (b *testBackend) stopListening() { b.ln.Close() }

// kill stops accepting and closes every open connection, like a process that died.
func (b *testBackend) kill() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

const testInterval = 50 * time.Millisecond

// startProxy runs the proxy the way main does, on a free local port.
func startProxy(t *testing.T, configPath string, static ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln, configPath, static, testInterval, 200*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return ln.Addr().String()
}

// greet opens a connection through the proxy and returns the name of the
// backend that answered ("" if the connection was closed without a greeting).
func greet(t *testing.T, proxy string) (string, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxy, time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return "", nil
	}
	return strings.TrimSpace(line), c
}

func greetN(t *testing.T, proxy string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		name, c := greet(t, proxy)
		if c != nil {
			c.Close()
		}
		seen[name]++
	}
	return seen
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(testInterval)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestRoundRobin(t *testing.T) {
	a := startBackend(t, "a", "")
	b := startBackend(t, "b", "")
	c := startBackend(t, "c", "")
	proxy := startProxy(t, "", a.addr, b.addr, c.addr)

	seen := greetN(t, proxy, 9)
	for _, name := range []string{"a", "b", "c"} {
		if seen[name] != 3 {
			t.Errorf("backend %s got %d of 9 connections, want 3 (all: %v)", name, seen[name], seen)
		}
	}
}

func TestEchoThroughProxy(t *testing.T) {
	a := startBackend(t, "a", "")
	proxy := startProxy(t, "", a.addr)
	name, c := greet(t, proxy)
	if name != "a" {
		t.Fatalf("greeting %q, want a", name)
	}
	defer c.Close()
	msg := strings.Repeat("x", 1<<20) + "\n"
	go io.WriteString(c, msg)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := bufio.NewReaderSize(c, 1<<21).ReadString('\n')
	if err != nil || got != msg {
		t.Fatalf("echo of 1 MiB: got %d bytes, err %v", len(got), err)
	}
}

func TestKilledBackendIsSkipped(t *testing.T) {
	a := startBackend(t, "a", "")
	b := startBackend(t, "b", "")
	proxy := startProxy(t, "", a.addr, b.addr)
	if seen := greetN(t, proxy, 4); seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("before the kill: %v, want 2 each", seen)
	}

	a.kill()
	// Right away, before any health check notices: a refused connect falls
	// through to the next backend, so no client sees a failure.
	if seen := greetN(t, proxy, 6); seen["b"] != 6 {
		t.Fatalf("right after killing a: %v, want all 6 on b", seen)
	}
	time.Sleep(5 * testInterval)
	if seen := greetN(t, proxy, 6); seen["b"] != 6 {
		t.Fatalf("after health checks: %v, want all 6 on b", seen)
	}

	// a comes back on the same address and is used again.
	startBackend(t, "a", a.addr)
	waitFor(t, "a back in rotation", func() bool { return greetN(t, proxy, 2)["a"] == 1 })
}

func TestAllBackendsDown(t *testing.T) {
	a := startBackend(t, "a", "")
	proxy := startProxy(t, "", a.addr)
	a.kill()
	if name, c := greet(t, proxy); c != nil {
		c.Close()
		t.Fatalf("got greeting %q with every backend dead", name)
	}
}

func TestBackendDiesMidConnection(t *testing.T) {
	a := startBackend(t, "a", "")
	b := startBackend(t, "b", "")
	proxy := startProxy(t, "", a.addr, b.addr)

	name, c := greet(t, proxy)
	if name != "a" {
		t.Fatalf("first connection went to %q, want a", name)
	}
	defer c.Close()
	a.kill()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("client read after its backend died: %v, want the connection closed", err)
	}
	if name, c := greet(t, proxy); name != "b" {
		t.Fatalf("reconnect went to %q, want b", name)
	} else {
		c.Close()
	}
}

// A backend whose host vanishes sends no FIN: its connections would hang.
// Once health checks mark it down, the proxy closes them.
func TestSilentBackendConnectionsClosedWhenDown(t *testing.T) {
	a := startBackend(t, "a", "")
	b := startBackend(t, "b", "")
	proxy := startProxy(t, "", a.addr, b.addr)

	name, c := greet(t, proxy)
	if name != "a" {
		t.Fatalf("first connection went to %q, want a", name)
	}
	defer c.Close()
	a.stopListening()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("client read on a vanished backend: %v, want the connection closed", err)
	}
}

func TestSIGHUPReloadsBackends(t *testing.T) {
	a := startBackend(t, "a", "")
	b := startBackend(t, "b", "")
	cfg := filepath.Join(t.TempDir(), "backends")
	if err := os.WriteFile(cfg, []byte("# control planes\n"+a.addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, cfg)
	if seen := greetN(t, proxy, 3); seen["a"] != 3 {
		t.Fatalf("before reload: %v, want all on a", seen)
	}

	if err := os.WriteFile(cfg, []byte(a.addr+"\n"+b.addr+"  # new control plane\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b in rotation after SIGHUP", func() bool { return greetN(t, proxy, 2)["b"] == 1 })

	// Remove a: its open connection is closed, new ones all go to b.
	var held net.Conn
	for held == nil {
		name, c := greet(t, proxy)
		if name == "a" {
			held = c
		} else if c != nil {
			c.Close()
		}
	}
	defer held.Close()
	if err := os.WriteFile(cfg, []byte(b.addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, "a out of rotation after SIGHUP", func() bool { return greetN(t, proxy, 4)["b"] == 4 })
	held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := held.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection to removed backend a: read %v, want it closed", err)
	}

	// A broken file keeps the current backends.
	if err := os.WriteFile(cfg, []byte("not-a-host-port\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(3 * testInterval)
	if seen := greetN(t, proxy, 2); seen["b"] != 2 {
		t.Fatalf("after a broken reload: %v, want all on b", seen)
	}
}

func TestParseBackends(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "comments and blanks", in: "# x\n\n  cp1:6443 # first\ncp2:6443\n", want: []string{"cp1:6443", "cp2:6443"}},
		{name: "ipv6", in: "[fd00::2]:6443\n", want: []string{"[fd00::2]:6443"}},
		{name: "no port", in: "cp1:6443\ncp2\n", wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBackends(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadBackends(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "backends")
	os.WriteFile(cfg, []byte("cp1:6443\ncp2:6443\n"), 0o644)
	got, err := loadBackends([]string{"cp1:6443"}, cfg)
	if err != nil || strings.Join(got, ",") != "cp1:6443,cp2:6443" {
		t.Fatalf("got %v, %v; want static then file, deduplicated", got, err)
	}
	if _, err := loadBackends(nil, ""); err == nil {
		t.Fatal("no backends at all: want an error")
	}
	if _, err := loadBackends(nil, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing config: want an error")
	}
}
