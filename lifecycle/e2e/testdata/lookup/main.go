// Command lookup resolves a name the way a pod's programs do, through
// /etc/resolv.conf's search list, over TCP or UDP, and prints the addresses
// and how long it took. The e2e tests put it into their busybox image:
// busybox's nslookup cannot ask over TCP.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "tcp" && os.Args[1] != "udp") {
		fmt.Fprintln(os.Stderr, "usage: lookup tcp|udp NAME")
		os.Exit(2)
	}
	proto, name := os.Args[1], os.Args[2]
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, proto, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	addrs, err := r.LookupHost(ctx, name)
	took := time.Since(start)
	if err != nil {
		fmt.Printf("error after %.2fs: %v\n", took.Seconds(), err)
		os.Exit(1)
	}
	fmt.Printf("%s in %.2fs\n", strings.Join(addrs, ","), took.Seconds())
}
