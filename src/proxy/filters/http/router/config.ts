// envoy.extensions.filters.http.router.v3.Router → frozen router settings.

type Obj = Record<string, unknown>;

export interface RouterConfig {
  /** Envoy's suppress_envoy_headers: no x-envoy-* headers added. */
  readonly suppressEnvoyHeaders: boolean;
}

export function compileRouterConfig(typed: Obj): RouterConfig {
  return Object.freeze({ suppressEnvoyHeaders: typed['suppress_envoy_headers'] === true });
}
