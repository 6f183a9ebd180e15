package main

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// fall is how many consecutive failed health checks mark a backend down.
// A failed connect on behalf of a client marks it down at once.
const fall = 2

// backend is one upstream address with its health and its open connections.
type backend struct {
	addr string

	mu       sync.Mutex
	healthy  bool
	removed  bool
	failures int
	conns    map[*proxied]struct{}
}

// proxied is one client connection and its upstream connection.
type proxied struct {
	client, upstream net.Conn
	once             sync.Once
}

func (c *proxied) close() {
	c.once.Do(func() {
		c.client.Close()
		c.upstream.Close()
	})
}

// Proxy forwards TCP connections round-robin to healthy backends.
type Proxy struct {
	healthInterval time.Duration
	dialTimeout    time.Duration

	mu       sync.Mutex
	backends []*backend
	next     int
}

// NewProxy returns a Proxy without backends; call SetBackends.
func NewProxy(healthInterval, dialTimeout time.Duration) *Proxy {
	return &Proxy{healthInterval: healthInterval, dialTimeout: dialTimeout}
}

// SetBackends replaces the backend set. Backends that stay keep their health
// and connections; new ones start unhealthy and are checked at once; removed
// ones have their connections closed so that clients reconnect elsewhere.
func (p *Proxy) SetBackends(addrs []string) {
	p.mu.Lock()
	old := map[string]*backend{}
	for _, b := range p.backends {
		old[b.addr] = b
	}
	var fresh, all []*backend
	for _, a := range addrs {
		if b, ok := old[a]; ok {
			all = append(all, b)
			delete(old, a)
			continue
		}
		b := &backend{addr: a, conns: map[*proxied]struct{}{}}
		all = append(all, b)
		fresh = append(fresh, b)
	}
	p.backends = all
	p.mu.Unlock()

	for _, b := range old {
		log.Printf("backend %s removed", b.addr)
		b.mu.Lock()
		b.removed = true
		b.mu.Unlock()
		b.closeConns()
	}
	for _, b := range fresh {
		log.Printf("backend %s added", b.addr)
	}
	p.checkAll(fresh)
}

// Serve accepts connections on ln until ctx ends (then it closes ln and
// returns net.ErrClosed) and runs the health checks meanwhile.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go p.healthLoop(ctx)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		go p.handle(c)
	}
}

// candidates returns every backend, healthy ones first, each group in
// round-robin order starting after the backend picked last time. Unhealthy
// backends are a last resort for when no healthy one answers.
func (p *Proxy) candidates() []*backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.backends)
	if n == 0 {
		return nil
	}
	start := p.next % n
	p.next = (start + 1) % n
	var healthy, unhealthy []*backend
	for i := 0; i < n; i++ {
		b := p.backends[(start+i)%n]
		if b.isHealthy() {
			healthy = append(healthy, b)
		} else {
			unhealthy = append(unhealthy, b)
		}
	}
	return append(healthy, unhealthy...)
}

func (p *Proxy) handle(client net.Conn) {
	for _, b := range p.candidates() {
		up, err := net.DialTimeout("tcp", b.addr, p.dialTimeout)
		if err != nil {
			b.markDown(err)
			continue
		}
		b.markUp()
		c := &proxied{client: client, upstream: up}
		if !b.track(c) {
			// Removed or marked down while we dialled: try the next one.
			up.Close()
			continue
		}
		pipe(c)
		b.untrack(c)
		return
	}
	log.Printf("no backend reachable for %s; closing it", client.RemoteAddr())
	client.Close()
}

// pipe copies both ways until both directions are done. An end-of-stream is
// passed on as a half-close; an error (a backend that died, a reset) closes
// both connections so the client sees its connection end instead of hanging.
func pipe(c *proxied) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err == nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				done <- struct{}{}
				return
			}
		}
		c.close()
		done <- struct{}{}
	}
	go cp(c.upstream, c.client)
	go cp(c.client, c.upstream)
	<-done
	<-done
	c.close()
}

func (p *Proxy) healthLoop(ctx context.Context) {
	t := time.NewTicker(p.healthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.mu.Lock()
			bs := append([]*backend(nil), p.backends...)
			p.mu.Unlock()
			p.checkAll(bs)
		}
	}
}

// checkAll checks the given backends concurrently and waits for all.
func (p *Proxy) checkAll(bs []*backend) {
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", b.addr, p.dialTimeout)
			if err != nil {
				b.checkFailed(err)
				return
			}
			c.Close()
			b.markUp()
		}()
	}
	wg.Wait()
}

func (b *backend) isHealthy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.healthy
}

func (b *backend) markUp() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = 0
	if !b.healthy {
		b.healthy = true
		log.Printf("backend %s is up", b.addr)
	}
}

// checkFailed counts a failed health check; after fall of them in a row the
// backend is down.
func (b *backend) checkFailed(err error) {
	b.mu.Lock()
	b.failures++
	down := b.failures >= fall
	b.mu.Unlock()
	if down {
		b.markDown(err)
	}
}

// markDown takes b out of rotation and closes its connections, so clients
// reconnect (through us) to a live backend instead of waiting on a dead one.
func (b *backend) markDown(err error) {
	b.mu.Lock()
	was := b.healthy
	b.healthy = false
	b.mu.Unlock()
	if was {
		log.Printf("backend %s is down: %v", b.addr, err)
		b.closeConns()
	}
}

func (b *backend) closeConns() {
	b.mu.Lock()
	conns := b.conns
	b.conns = map[*proxied]struct{}{}
	b.mu.Unlock()
	for c := range conns {
		c.close()
	}
}

// track registers c with b unless b is down or removed.
func (b *backend) track(c *proxied) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.healthy || b.removed {
		return false
	}
	b.conns[c] = struct{}{}
	return true
}

func (b *backend) untrack(c *proxied) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.conns, c)
}
