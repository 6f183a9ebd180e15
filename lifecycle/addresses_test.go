package lifecycle

import (
	"slices"
	"testing"
)

func TestNextFreeIPs(t *testing.T) {
	tests := []struct {
		name, subnet, gateway string
		used                  []string
		n                     int
		want                  []string
		wantErr               bool
	}{
		{name: "first after gateway", subnet: "172.18.0.0/16", gateway: "172.18.0.1", n: 3, want: []string{"172.18.0.2", "172.18.0.3", "172.18.0.4"}},
		{name: "skips used", subnet: "10.89.0.0/24", gateway: "10.89.0.1", used: []string{"10.89.0.2", "10.89.0.4"}, n: 2, want: []string{"10.89.0.3", "10.89.0.5"}},
		{name: "no gateway named: first address is the bridge's", subnet: "10.89.1.0/24", n: 1, want: []string{"10.89.1.2"}},
		{name: "unmasked subnet", subnet: "10.89.2.7/24", gateway: "10.89.2.1", n: 1, want: []string{"10.89.2.2"}},
		{name: "full", subnet: "10.0.0.0/30", gateway: "10.0.0.1", n: 2, wantErr: true},
		{name: "last host address, never broadcast", subnet: "10.0.0.0/29", gateway: "10.0.0.1", used: []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}, n: 1, want: []string{"10.0.0.6"}},
		{name: "ipv6", subnet: "fd00::/64", n: 1, wantErr: true},
		{name: "garbage", subnet: "nope", n: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nextFreeIPs(tt.subnet, tt.gateway, tt.used, tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
