package nodeimage

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/kinc-dev/kinc/nodeimage/contract"
)

// TestNodeFilesKeepTheContract: the node files are what implements the
// contract the lifecycle relies on; they must say the same values.
func TestNodeFilesKeepTheContract(t *testing.T) {
	entrypoint := "files" + contract.Entrypoint
	tests := []struct {
		file, want string
	}{
		{entrypoint, "readonly STATE_DIR=" + path.Dir(contract.StateFile) + "\nreadonly STATE_FILE=${STATE_DIR}/" + path.Base(contract.StateFile) + "\n"},
		{entrypoint, "set_state " + contract.StatePaused + "\n"},
		{entrypoint, "set_state " + contract.StateFixing + "\n"},
		{entrypoint, "set_state " + contract.StateBooting + "\n"},
		{entrypoint, "set_state " + contract.StateFailed + "\n"},
		{entrypoint, `log "` + strings.TrimPrefix(contract.PausedLogLine, "kinc: ") + `"`},
		{entrypoint, "log() { echo \"kinc: $*\" >&2; }"},
		{entrypoint, "trap 'go=1' " + strings.TrimPrefix(contract.BootSignal, "SIG") + "\n"},
		{"files/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "EnvironmentFile=-" + contract.KubeletDefaultsPath + "\n"},
	}
	for _, tt := range tests {
		data, err := fs.ReadFile(nodeFiles, tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), tt.want) {
			t.Errorf("%s lacks %q", tt.file, tt.want)
		}
	}
}
