package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// In-cluster service-account files.
const (
	saTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	saCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// kubeClient is a minimal Kubernetes API client: GET JSON with a bearer token.
type kubeClient struct {
	server    string // https://host:port, no trailing slash
	tokenFile string // re-read on every request: kubelet rotates it
	http      *http.Client
}

// inClusterServer returns the API server URL from the environment kubelet
// gives every pod.
func inClusterServer() (string, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", fmt.Errorf("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod? use --api-server)")
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

// newKubeClient returns a client for server. caFile may be empty for a plain
// http server (tests); tokenFile may be empty for no authentication.
func newKubeClient(server, tokenFile, caFile string) (*kubeClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA %s: no certificates found", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &kubeClient{
		server:    strings.TrimRight(server, "/"),
		tokenFile: tokenFile,
		http:      &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}, nil
}

// get GETs path and decodes the JSON answer into out.
func (c *kubeClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if c.tokenFile != "" {
		tok, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return fmt.Errorf("read token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// listNodes returns every node. resourceVersion=0 serves from the API
// server's cache, which is what a 5-second poll wants.
func (c *kubeClient) listNodes(ctx context.Context) ([]Node, error) {
	var l NodeList
	if err := c.get(ctx, "/api/v1/nodes?resourceVersion=0", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}
