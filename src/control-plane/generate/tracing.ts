// Tracing as Istio configures Envoy (pilot's configureTracing): the HCM `tracing` block, with the
// provider the Telemetry API (root → namespace → workload, the `tracing` section merged field by
// field) or MeshConfig.defaultProviders.tracing names, resolved from MeshConfig.extensionProviders
// (`zipkin` → envoy.tracers.zipkin, `opentelemetry` → envoy.tracers.opentelemetry) to a collector
// cluster named as Istio names it (`outbound|9411||zipkin.istio-system.svc.cluster.local`);
// sampling from the Telemetry API, else ProxyConfig.tracing.sampling, else Istio's 1%; Istio's
// span tags (istio.canonical_service, ...); and route decorators, which name the spans.
import type { ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { ExtensionProvider } from '../../config/mesh-config.js';
import type { TelemetrySpec } from '../../config/kinds.js';
import type { MeshModel } from '../model/mesh-model.js';
import { chainOrder } from '../model/telemetry.js';
import type { NamedResource } from '../server/snapshot.js';
import { clusterName, parseClusterName } from './names.js';

type EnvoyObject = Record<string, unknown>;
type TelemetryTracing = NonNullable<TelemetrySpec['tracing']>[number];
type IstioCustomTag = NonNullable<TelemetryTracing['customTags']>[string];

/** Istio's default sampling when neither the Telemetry API nor ProxyConfig sets one. */
export const DEFAULT_SAMPLING_PERCENT = 1;

/** Which side of a call a listener records (Telemetry's tracing match.mode). */
export type TracingSide = 'CLIENT' | 'SERVER';

/** The tracing section of a proxy's Telemetry chain, merged for one side. */
export interface EffectiveTracing {
  readonly providers: readonly string[] | undefined;
  readonly randomSamplingPercentage: number | undefined;
  readonly disableSpanReporting: boolean;
  readonly customTags: Readonly<Record<string, IstioCustomTag>>;
}

function appliesTo(t: TelemetryTracing, side: TracingSide): boolean {
  const mode = t.match?.mode ?? 'CLIENT_AND_SERVER';
  return mode === 'CLIENT_AND_SERVER' || mode === side;
}

/**
 * Istio's merge over the chain (mesh, namespace, workload; each level's entries in order): a
 * field set at a more specific level replaces the one inherited — providers, sampling,
 * disableSpanReporting — and customTags merge tag by tag. Undefined: no Telemetry says anything
 * about tracing.
 */
export function mergeTracing(
  levels: readonly TelemetrySpec[],
  side: TracingSide,
): EffectiveTracing | undefined {
  let seen = false;
  let providers: string[] | undefined;
  let sampling: number | undefined;
  let disabled = false;
  const tags: Record<string, IstioCustomTag> = {};
  for (const spec of levels) {
    for (const t of spec.tracing ?? []) {
      if (!appliesTo(t, side)) continue;
      seen = true;
      const names = (t.providers ?? []).map((p) => p.name ?? '').filter(Boolean);
      if (names.length) providers = names;
      if (t.randomSamplingPercentage !== undefined) sampling = t.randomSamplingPercentage;
      if (t.disableSpanReporting !== undefined) disabled = t.disableSpanReporting;
      Object.assign(tags, t.customTags ?? {});
    }
  }
  if (!seen) return undefined;
  return {
    providers,
    randomSamplingPercentage: sampling,
    disableSpanReporting: disabled,
    customTags: tags,
  };
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** `ns/host` or `host` (Istio's provider service), found in the registry: the cluster to it. */
function collectorCluster(
  model: MeshModel,
  service: unknown,
  port: unknown,
): { cluster: string; hostname: string } | undefined {
  if (typeof service !== 'string' || typeof port !== 'number') return undefined;
  const slash = service.indexOf('/');
  const hostname = slash < 0 ? service : service.slice(slash + 1);
  if (!model.services.get(hostname)) return undefined;
  return { cluster: clusterName('outbound', port, '', hostname), hostname };
}

/** The Envoy tracer config of an extension provider (undefined: not a tracer skiff runs). */
function providerConfig(
  p: ExtensionProvider,
  model: MeshModel,
  serviceName: string,
): { config: EnvoyObject; maxTagLength: number | undefined } | undefined {
  if (p['zipkin']) {
    const z = obj(p['zipkin']);
    const c = collectorCluster(model, z['service'], z['port']);
    if (!c) return undefined;
    return {
      config: {
        name: 'envoy.tracers.zipkin',
        typed_config: typed('envoy.config.trace.v3.ZipkinConfig', {
          collector_cluster: c.cluster,
          collector_endpoint: typeof z['path'] === 'string' ? z['path'] : '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          collector_hostname: c.hostname,
          trace_id_128bit: z['enable64bitTraceId'] !== true,
          shared_span_context: false,
        }),
      },
      maxTagLength: typeof z['maxTagLength'] === 'number' ? z['maxTagLength'] : undefined,
    };
  }
  if (p['opentelemetry']) {
    const o = obj(p['opentelemetry']);
    const c = collectorCluster(model, o['service'], o['port']);
    if (!c) return undefined;
    const http = o['http'] === undefined ? undefined : obj(o['http']);
    const grpc = obj(o['grpc']);
    const exporter: EnvoyObject = http
      ? {
          http_service: {
            http_uri: {
              uri: `${c.hostname}${typeof http['path'] === 'string' && http['path'] ? (http['path'].startsWith('/') ? '' : '/') + http['path'] : '/v1/traces'}`,
              cluster: c.cluster,
              timeout: typeof http['timeout'] === 'string' ? http['timeout'] : '5s',
            },
            request_headers_to_add: (Array.isArray(http['headers']) ? http['headers'] : []).map(
              (h: unknown) => ({
                header: { key: String(obj(h)['name'] ?? ''), value: String(obj(h)['value'] ?? '') },
              }),
            ),
          },
        }
      : {
          grpc_service: {
            envoy_grpc: { cluster_name: c.cluster, authority: c.hostname },
            ...(typeof grpc['timeout'] === 'string' ? { timeout: grpc['timeout'] } : {}),
          },
        };
    return {
      config: {
        name: 'envoy.tracers.opentelemetry',
        typed_config: typed('envoy.config.trace.v3.OpenTelemetryConfig', {
          ...exporter,
          service_name: serviceName,
        }),
      },
      maxTagLength: typeof o['maxTagLength'] === 'number' ? o['maxTagLength'] : undefined,
    };
  }
  return undefined;
}

/** Istio's canonical service and revision of a workload, from its labels. */
export function canonicalNames(node: ProxyNode): { service: string; revision: string } {
  const l = node.labels;
  return {
    service:
      l['service.istio.io/canonical-name'] ??
      l['app.kubernetes.io/name'] ??
      l['app'] ??
      node.workloadName,
    revision:
      l['service.istio.io/canonical-revision'] ??
      l['app.kubernetes.io/version'] ??
      l['version'] ??
      'latest',
  };
}

function customTag(tag: string, t: IstioCustomTag): EnvoyObject | undefined {
  if (t.literal) return { tag, literal: { value: t.literal.value ?? '' } };
  if (t.environment)
    return {
      tag,
      environment: { name: t.environment.name, default_value: t.environment.defaultValue ?? '' },
    };
  if (t.header)
    return {
      tag,
      request_header: { name: t.header.name, default_value: t.header.defaultValue ?? '' },
    };
  return undefined;
}

function proxyConfigTracing(model: MeshModel): Record<string, unknown> {
  return obj(model.meshConfig.defaultConfig['tracing']);
}

/**
 * The HCM `tracing` of one listener of `node`, recording `side` (sidecar outbound: CLIENT;
 * inbound and gateways: SERVER). Undefined when tracing is off (enableTracing false) or no
 * provider applies and no Telemetry asks for propagation alone (disableSpanReporting).
 */
export function hcmTracing(
  node: ProxyNode,
  model: MeshModel,
  side: TracingSide,
): EnvoyObject | undefined {
  const mesh = model.meshConfig;
  if ((mesh as { enableTracing?: boolean }).enableTracing === false) return undefined;
  const levels = chainOrder(model.telemetryFor(node)).map((t) => t.spec);
  const telemetry = mergeTracing(levels, side);
  const names = telemetry?.providers ?? asStrings(obj(mesh.defaultProviders)['tracing']);
  const canonical = canonicalNames(node);
  let provider: ReturnType<typeof providerConfig>;
  const chosen = mesh.extensionProviders.find((p) => p.name === names[0]);
  // Istio supports one tracing provider per proxy: the first named.
  if (chosen) provider = providerConfig(chosen, model, `${canonical.service}.${node.namespace}`);
  if (!provider && !telemetry) return undefined;
  const pc = proxyConfigTracing(model);
  const sampling =
    telemetry?.randomSamplingPercentage ??
    (typeof pc['sampling'] === 'number' ? pc['sampling'] : DEFAULT_SAMPLING_PERCENT);
  const tags: EnvoyObject[] = [
    { tag: 'istio.canonical_revision', literal: { value: canonical.revision } },
    { tag: 'istio.canonical_service', literal: { value: canonical.service } },
    {
      tag: 'istio.mesh_id',
      literal: { value: (mesh as { meshId?: string }).meshId ?? mesh.trustDomain },
    },
    { tag: 'istio.namespace', literal: { value: node.namespace } },
  ];
  for (const [tag, t] of Object.entries(telemetry?.customTags ?? {})) {
    const c = customTag(tag, t);
    if (c) tags.push(c);
  }
  return {
    client_sampling: { value: 100 },
    random_sampling: { value: Math.min(100, Math.max(0, sampling)) },
    overall_sampling: { value: 100 },
    custom_tags: tags,
    max_path_tag_length:
      provider?.maxTagLength ??
      (typeof pc['maxPathTagLength'] === 'number'
        ? pc['maxPathTagLength']
        : typeof pc['max_path_tag_length'] === 'number'
          ? pc['max_path_tag_length']
          : 256),
    // Istio's gateways record the upstream call in a span of its own (their HCM span is then
    // SERVER); sidecars do not (PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY).
    spawn_upstream_span: node.type === 'router',
    ...(provider && !telemetry?.disableSpanReporting ? { provider: provider.config } : {}),
  };
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/**
 * Istio's route operation (getRouteOperation): `host:port` of the route's one cluster, else the
 * VirtualService's name and the listener's port, then the path the match names (`/*` for
 * everything, `prefix*`, the exact path, the regex).
 */
export function routeOperation(route: EnvoyObject, port: number, fallbackHost: string): string {
  const match = obj(route['match']);
  let path = '/*';
  if (typeof match['path'] === 'string') path = match['path'];
  else if (typeof match['prefix'] === 'string') path = `${match['prefix']}*`;
  else if (match['safe_regex']) path = String(obj(match['safe_regex'])['regex'] ?? '');
  const cluster = obj(route['route'])['cluster'];
  const parsed = typeof cluster === 'string' ? parseClusterName(cluster) : undefined;
  // The host and port of the one cluster (Istio parses both from the subset key).
  if (parsed?.host) return `${parsed.host}:${parsed.port}${path}`;
  const config = obj(obj(obj(route['metadata'])['filter_metadata'])['istio'])['config'];
  const vsName = typeof config === 'string' ? config.slice(config.lastIndexOf('/') + 1) : '';
  return `${vsName || fallbackHost}:${port}${path}`;
}

/** Sets the routes' decorators of one route configuration (a resource's body). */
function decorateRouteConfig(
  rc: EnvoyObject,
  operation: (route: EnvoyObject, vh: EnvoyObject) => string | undefined,
): EnvoyObject {
  const vhosts = (rc['virtual_hosts'] as EnvoyObject[] | undefined) ?? [];
  return {
    ...rc,
    virtual_hosts: vhosts.map((vh) => ({
      ...vh,
      routes: ((vh['routes'] as EnvoyObject[] | undefined) ?? []).map((r) => {
        const op = r['decorator'] ? undefined : operation(r, vh);
        return op ? { ...r, decorator: { operation: op } } : r;
      }),
    })),
  };
}

/**
 * Sets each route's `decorator` (the span name) as Istio does on the routes it generates for
 * services: virtual hosts named `host:port` (sidecar and gateway route configs). The catch-all
 * virtual hosts (allow_any, block_all) get none: their spans are named by authority and path.
 */
export function withDecorators(resource: NamedResource): NamedResource {
  return {
    ...resource,
    resource: decorateRouteConfig(resource.resource as EnvoyObject, (r, vh) => {
      const m = /^(.*):(\d+)$/.exec(String(vh['name'] ?? ''));
      return m ? routeOperation(r, Number(m[2]), m[1] ?? '') : undefined;
    }),
  };
}

/**
 * Inbound routes are named by the service the port serves (Istio's inbound
 * `host:servicePort/*`), the workload's own name when no service selects it.
 */
export function withInboundDecorators(
  rc: EnvoyObject,
  node: ProxyNode,
  model: MeshModel | undefined,
  port: { readonly containerPort: number; readonly listenPort: number },
): EnvoyObject {
  let operation = `${node.workloadName}.${node.namespace}:${port.containerPort}/*`;
  if (model) {
    search: for (const svc of model.services.values()) {
      for (const p of svc.ports) {
        const hit = model
          .endpointsOf(svc.hostname, p.port)
          .some((e) => e.address === node.ip && e.port === port.listenPort);
        if (hit) {
          operation = `${svc.hostname}:${p.port}/*`;
          break search;
        }
      }
    }
  }
  return decorateRouteConfig(rc, () => operation);
}
