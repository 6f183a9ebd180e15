//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testImage is a busybox image the tests import into every node themselves:
// nothing can be pulled here, and kinc's own images have no shell.
const testImage = "kinc.test/busybox:e2e"

// buildImage makes image name in the runtime's own store from the host's
// static busybox (nothing can be pulled here; kinc's images have no shell),
// as `docker build` would, with extra bytes of padding when asked; removed
// at the end of the test.
func buildImage(t *testing.T, runtime, name string, padding int) {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("the e2e tests need a static busybox on the host (apt-get install busybox-static): %v", err)
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "run", "etc", "var", "root"} {
		tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	for _, applet := range []string{"sh", "wget", "nslookup", "httpd", "hostname", "mkdir", "cat", "echo", "sleep", "timeout", "nc", "true"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	lookup := lookupBinary(t)
	tw.WriteHeader(&tar.Header{Name: "bin/lookup", Mode: 0o755, Size: int64(len(lookup))})
	tw.Write(lookup)
	if padding > 0 {
		// Random bytes: an image of about this size, whatever the compression.
		pad := make([]byte, padding)
		rand.Read(pad)
		tw.WriteHeader(&tar.Header{Name: "padding", Mode: 0o644, Size: int64(len(pad))})
		tw.Write(pad)
	}
	tw.Close()
	imp := exec.Command(runtime, "import", "--change", `ENTRYPOINT ["/bin/sh"]`, "-", name)
	imp.Stdin = &rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("%s import: %v\n%s", runtime, err, out)
	}
	t.Cleanup(func() { run(t, time.Minute, runtime, "rmi", name) })
}

var (
	lookupOnce sync.Once
	lookupData []byte
	lookupErr  error
)

// lookupBinary is testdata/lookup built static, once per test run.
func lookupBinary(t testing.TB) []byte {
	t.Helper()
	lookupOnce.Do(func() {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("kinc-e2e-lookup-%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-o", out, "./testdata/lookup")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			lookupErr = fmt.Errorf("build testdata/lookup: %v\n%s", err, msg)
			return
		}
		lookupData, lookupErr = os.ReadFile(out)
		os.Remove(out)
	})
	if lookupErr != nil {
		t.Fatal(lookupErr)
	}
	return lookupData
}

// importTestImage builds the busybox test image and loads it into the
// nodes with kinc load image.
func (c *cluster) importTestImage(nodes []string) {
	c.t.Helper()
	buildImage(c.t, c.runtime, testImage, 0)
	if out, err := c.kincCmd("load", "image", "--name", c.name, "--nodes", strings.Join(nodes, ","), testImage); err != nil {
		c.t.Fatalf("kinc load image %s: %v\n%s", testImage, err, out)
	}
}

func webPod(i int, node string) string { return webPodOf(i, node, testImage) }

// webPodOf is pod web-I pinned on node, serving its hostname on 8080 from
// image, and its Service web-I.
func webPodOf(i int, node, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web-%[1]d
  labels: {app: web, kinc-e2e: "%[1]d"}
spec:
  nodeName: %[2]s
  tolerations: [{operator: Exists}]
  containers:
  - name: web
    image: %[3]s
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: web-%[1]d
spec:
  selector: {kinc-e2e: "%[1]d"}
  ports: [{port: 80, targetPort: 8080}]
`, i, node, image)
}

const pvcManifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  tolerations: [{operator: Exists}]
  containers:
  - name: writer
    image: ` + testImage + `
    imagePullPolicy: Never
    command: ["sh", "-c", "echo persisted > /data/f && exec sleep 3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`

// checkWorkloads proves the cluster works: coredns runs, a pod runs on
// every node, every pod reaches every other pod directly and through a
// ClusterIP service by DNS name, and a PVC binds.
func (c *cluster) checkWorkloads(nodes []string) {
	t := c.t
	c.checkServices(nodes)
	c.kApply(pvcManifest)
	c.waitReady(180*time.Second, "pod/writer")
	if phase := c.k("get", "pvc", "data", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
		t.Errorf("PVC data is %q, want Bound", phase)
	}
	if got := strings.TrimSpace(c.k("exec", "writer", "--", "cat", "/data/f")); got != "persisted" {
		t.Errorf("read back %q from the PVC", got)
	}
}

// checkServices: coredns runs, a web pod runs on every node, and every
// pod reaches every other pod directly and through its Service.
func (c *cluster) checkServices(nodes []string) {
	c.k("-n", "kube-system", "wait", "--for=condition=Ready", "pod", "-l", "k8s-app=kube-dns", "--timeout=120s")
	c.importTestImage(nodes)
	var manifests []string
	for i, n := range nodes {
		manifests = append(manifests, webPod(i, n))
	}
	c.kApply(strings.Join(manifests, "---\n"))
	c.waitReady(180*time.Second, "pod", "-l", "app=web")
	c.checkTraffic(nodes)
}

// checkTraffic: DNS from a pod, and pod web-I reaches every other web pod
// directly and through its Service by DNS name, across nodes.
func (c *cluster) checkTraffic(nodes []string) {
	t := c.t
	t.Helper()
	ips := map[int]string{}
	for i, n := range nodes {
		out := c.k("get", "pod", fmt.Sprintf("web-%d", i), "-o", "jsonpath={.spec.nodeName} {.status.podIP}")
		node, ip, _ := strings.Cut(out, " ")
		if node != n || ip == "" {
			t.Fatalf("pod web-%d runs on %q with IP %q, want node %s", i, node, ip, n)
		}
		ips[i] = ip
	}
	if out := c.k("exec", "web-0", "--", "nslookup", "kubernetes.default.svc.cluster.local"); !strings.Contains(out, "10.96.0.1") {
		t.Errorf("web-0 resolves kubernetes.default to:\n%s", out)
	}
	for i := range nodes {
		for j := range nodes {
			if len(nodes) > 1 && i == j {
				continue // across nodes only, where there is more than one
			}
			want := fmt.Sprintf("web-%d", j)
			for _, url := range []string{
				fmt.Sprintf("http://%s:8080/", ips[j]),
				fmt.Sprintf("http://web-%d.default.svc.cluster.local/", j),
			} {
				got, err := runOut(t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-"+c.name,
					// busybox 1.35's wget -T crashes: bound it with timeout.
					"exec", fmt.Sprintf("web-%d", i), "--", "timeout", "10", "wget", "-qO-", url)
				if err != nil || strings.TrimSpace(got) != want {
					t.Errorf("web-%d (%s) -> %s (%s): got %q, err %v, want %q", i, nodes[i], url, nodes[j], got, err, want)
				}
			}
		}
	}
}

func TestE2EClusters(t *testing.T) {
	specs := []struct {
		name, config string
		nodes        int
		day2         bool
	}{
		{"single", "", 1, false},
		// The 1+2 cluster goes on through day 2: one cluster fewer to
		// create per runtime than a test of its own would take.
		{"workers", "../../testdata/e2e/workers.toml", 3, true},
	}
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) {
			for _, s := range specs {
				t.Run(s.name, func(t *testing.T) {
					c := create(t, rt, "e2e-"+rt[:3]+"-"+s.name, s.config)
					nodes := c.readyNodes(s.nodes)
					if s.nodes == 1 {
						// Without workers the control plane must take pods.
						// (node.kubernetes.io/not-ready may linger a moment after Ready.)
						if taints := c.k("get", "node", nodes[0], "-o", "jsonpath={.spec.taints}"); strings.Contains(taints, "node-role.kubernetes.io/control-plane") {
							t.Errorf("single node has the control-plane taint: %s", taints)
						}
					}
					c.checkWorkloads(nodes)
					if s.nodes > 1 {
						c.checkNoLeak()
						c.checkDNS()
					}
					c.checkCLI(nodes)
					if s.day2 {
						c.day2(nodes)
					}
				})
			}
		})
	}
}

// TestE2EHA runs 3 control planes behind the load balancer + 1 worker on docker.
func TestE2EHA(t *testing.T) {
	c := create(t, "docker", "e2e-ha", "../../testdata/e2e/ha.toml")
	nodes := c.readyNodes(4)
	c.checkWorkloads(nodes)
	server := c.k("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	published := strings.TrimSpace(mustRun(t, time.Minute, "docker", "port", "e2e-ha-external-load-balancer", "6443/tcp"))
	if server != "https://"+published {
		t.Errorf("kubeconfig server %q, want the load balancer's published address %s", server, published)
	}
	// A fourth control plane joins through the load balancer (etcd grows to
	// four members) and leaves again (its etcd member removed).
	out, err := c.kincCmd("create", "node", "--name", c.name, "--role", "control-plane")
	t.Logf("kinc create node --role control-plane:\n%s", out)
	if err != nil || !strings.Contains(out, "Node e2e-ha-control-plane4 joined") {
		t.Fatalf("kinc create node --role control-plane: %v", err)
	}
	c.readyNodes(5)
	c.k("-n", "kube-system", "wait", "--for=condition=Ready", "pod/etcd-e2e-ha-control-plane4", "pod/kube-apiserver-e2e-ha-control-plane4", "--timeout=180s")
	if out, err := c.kincCmd("delete", "node", "e2e-ha-control-plane4"); err != nil {
		t.Fatalf("kinc delete node e2e-ha-control-plane4: %v\n%s", err, out)
	}
	c.readyNodes(4)
	// Its etcd member must be gone too: with four members, the control plane
	// stopped below would leave two of four, no quorum, and the API would
	// stop answering.
	// Stopped and started, the HA cluster runs again.
	if out, err := c.kincCmd("stop", "cluster", "--name", c.name); err != nil {
		t.Fatalf("kinc stop cluster: %v\n%s", err, out)
	}
	start := time.Now()
	if out, err := c.kincCmd("start", "cluster", "--name", c.name, "--wait", "4m"); err != nil {
		t.Fatalf("kinc start cluster: %v\n%s", err, out)
	}
	t.Logf("HA kinc start cluster --wait took %.1fs", time.Since(start).Seconds())
	c.readyNodes(4)
	c.waitReady(180*time.Second, "pod", "-l", "app=web")
	c.checkTraffic(nodes)

	// The API stays up with one control plane gone: the load balancer skips
	// it, and etcd keeps its quorum (two of three).
	mustRun(t, time.Minute, "docker", "stop", "e2e-ha-control-plane2")
	time.Sleep(3 * time.Second) // two failed health checks of the load balancer
	for i := 0; i < 5; i++ {
		if out, err := runOut(t, time.Minute, c.kubectl, "--kubeconfig", c.kubeconfig, "--context", "kinc-e2e-ha", "get", "--raw", "/readyz"); err != nil || out != "ok" {
			t.Errorf("API through the load balancer with a control plane stopped, try %d: %q %v", i, out, err)
		}
	}
}
