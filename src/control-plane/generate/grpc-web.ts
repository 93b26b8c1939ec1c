// gRPC-Web ports (a Service port named `grpc-web…`, appProtocol grpc-web, a Gateway server of
// protocol GRPC-WEB): Istio puts Envoy's grpc_web filter first in their listeners' HTTP filters.
// Local mode's sidecar has one outbound listener for every port: there the filter is disabled,
// and the virtual hosts of gRPC-Web ports enable it (typed_per_filter_config).
import { typed } from '../../xds/any.js';

type EnvoyObject = Record<string, unknown>;

export const GRPC_WEB_FILTER = 'envoy.filters.http.grpc_web';
const GRPC_WEB_TYPE = 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb';

/** The HCM's http_filters entry; `disabled` until a route enables it. */
export function grpcWebHttpFilter(disabled: boolean): EnvoyObject {
  return {
    name: GRPC_WEB_FILTER,
    typed_config: typed(GRPC_WEB_TYPE, {}),
    ...(disabled ? { disabled: true } : {}),
  };
}

/** typed_per_filter_config that enables the grpc_web filter on a virtual host. */
export function grpcWebEnabled(): EnvoyObject {
  return {
    [GRPC_WEB_FILTER]: typed('envoy.config.route.v3.FilterConfig', {
      config: typed(GRPC_WEB_TYPE, {}),
    }),
  };
}
