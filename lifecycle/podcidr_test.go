package lifecycle

import (
	"slices"
	"strings"
	"testing"
)

func TestNodePodCIDRs(t *testing.T) {
	tests := []struct {
		subnet  string
		count   int
		want    []string
		wantErr string
	}{
		{"10.244.0.0/16", 3, []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}, ""},
		{"10.244.0.0/23", 2, []string{"10.244.0.0/24", "10.244.1.0/24"}, ""},
		{"10.0.255.0/24", 1, []string{"10.0.255.0/24"}, ""},
		{"10.1.0.0/15", 2, []string{"10.0.0.0/24", "10.0.1.0/24"}, ""},
		{"10.244.0.0/23", 3, nil, "cannot give 3 nodes"},
		{"10.244.0.0/25", 1, nil, "cannot give 1 nodes"},
		{"fd00::/64", 1, nil, "cannot give"},
	}
	for _, tt := range tests {
		got, err := nodePodCIDRs(tt.subnet, tt.count)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s/%d: err %v, want %q", tt.subnet, tt.count, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s/%d: got %v (err %v), want %v", tt.subnet, tt.count, got, err, tt.want)
		}
	}
}

func TestNodeListAndPatch(t *testing.T) {
	data, err := nodeList([]*Node{{Name: "a", IP: "172.18.0.2", PodCIDR: "10.244.0.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "NodeList"`, `"name": "a"`, `"podCIDR": "10.244.0.0/24"`, `"type": "InternalIP"`, `"address": "172.18.0.2"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("node list lacks %s:\n%s", want, data)
		}
	}
	if got := podCIDRPatch("10.244.1.0/24"); got != `{"spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24"]}}` {
		t.Errorf("patch %s", got)
	}
}
