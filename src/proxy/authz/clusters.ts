// The proxy's clusters as ext_authz reaches its authorizer through them. Filters are compiled
// from config alone, so the listener manager registers the proxy's cluster manager here.
import type { ClusterManager } from '../upstream/cluster-manager.js';

let current: ClusterManager | undefined;

export function setAuthzClusters(clusters: ClusterManager): void {
  current = clusters;
}

export function authzClusters(): ClusterManager | undefined {
  return current;
}
