package lifecycle

import (
	"strings"
	"testing"
)

func TestPodResolvConf(t *testing.T) {
	tests := []struct {
		name    string
		node    string
		host    []string
		want    string
		wantErr string
	}{
		{"docker embedded DNS replaced by the host's", "nameserver 127.0.0.11\noptions ndots:0\n", []string{"nameserver 10.255.255.53\n"},
			"nameserver 10.255.255.53\noptions ndots:0\n", ""},
		{"podman network DNS and its domain replaced", "search corp.example dns.podman\nnameserver 10.89.0.1\n", []string{"search corp.example\nnameserver 192.0.2.8\n"},
			"nameserver 192.0.2.8\nsearch corp.example\n", ""},
		{"runtime search domain alone dropped", "search dns.podman\nnameserver 10.89.0.1\noptions edns0\n", []string{"nameserver 192.0.2.8\n"},
			"nameserver 192.0.2.8\noptions edns0\n", ""},
		{"other servers kept", "nameserver 192.0.2.9\n", []string{"nameserver 192.0.2.8\n"},
			"nameserver 192.0.2.9\n", ""},
		{"resolved stub skipped for its upstreams", "nameserver 127.0.0.11\n", []string{"nameserver 127.0.0.53\n", "nameserver 192.0.2.1\nnameserver 192.0.2.2\n"},
			"nameserver 192.0.2.1\nnameserver 192.0.2.2\n", ""},
		{"nothing usable", "nameserver 127.0.0.11\n", []string{"nameserver 127.0.0.53\n"}, "", "no DNS server for pods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := podResolvConf(tt.node, []string{"10.89.0.1"}, tt.host...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q (err %v), want %q", got, err, tt.want)
			}
		})
	}
}
