package main

import (
	"context"
	"net/http"

	"github.com/kinc-dev/kinc/nodeimage/addons/internal/kubeapi"
)

// listNodes returns every node. resourceVersion=0 serves from the API
// server's cache, which is what a 5-second poll wants.
func listNodes(ctx context.Context, kube *kubeapi.Client) ([]Node, error) {
	var l NodeList
	if err := kube.Do(ctx, http.MethodGet, "/api/v1/nodes?resourceVersion=0", nil, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}
