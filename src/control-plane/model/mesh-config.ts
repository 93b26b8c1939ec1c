// Istio's MeshConfig, the part skiff reads (defaults are Istio's).

export interface MeshConfig {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  /** ALLOW_ANY: unknown destinations pass through; REGISTRY_ONLY: they get 502 (BlackHole). */
  readonly outboundTrafficPolicy: { readonly mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
  /** Default connect timeout of generated clusters (Istio's 10s). */
  readonly connectTimeout: string;
  readonly defaultHttpRetryPolicy: { readonly attempts: number; readonly retryOn: string };
}

export const DEFAULT_MESH_CONFIG: MeshConfig = {
  rootNamespace: 'istio-system',
  trustDomain: 'cluster.local',
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
  connectTimeout: '10s',
  // Istio's default retry policy for HTTP routes without `retries`.
  defaultHttpRetryPolicy: {
    attempts: 2,
    retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  },
};
