// Access logs as istiod configures them (pilot/pkg/model/telemetry_logging.go and
// networking/core/accesslog.go): the Telemetry API's `accessLogging` merged over the proxy's
// chain (root → namespace → workload) names providers; with none, mesh config's accessLogFile
// (accessLogEncoding, accessLogFormat) applies. Each provider becomes an Envoy AccessLog
// (envoy.access_loggers.file) on every HTTP connection manager and tcp_proxy of the proxy's
// listeners; a `filter.expression` becomes Istio's CEL extension filter, which skiff's proxies
// evaluate with their own CEL subset (src/proxy/telemetry/access-log/cel.ts).
import type { TelemetrySpec } from '../../config/kinds.js';
import type { ExtensionProvider, MeshConfig } from '../../config/mesh-config.js';
import { typed } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';
import { chainOrder } from '../model/telemetry.js';
import type { NamedResource } from '../server/snapshot.js';

type EnvoyObject = Record<string, unknown>;
type AccessLogging = NonNullable<TelemetrySpec['accessLogging']>[number];
type Mode = 'CLIENT' | 'SERVER';

/** Istio's EnvoyTextLogFormat (pilot/pkg/model/telemetry_logging.go), verbatim. */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ' +
  '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% ' +
  '%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ' +
  '%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's EnvoyJSONLogFormatIstio: its keys and operators. */
export const ISTIO_JSON_FORMAT: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
});

const FILE_LOG = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
const CEL_FILTER = 'envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Istio: "Istio will insert a newline on all formats (if missing)". */
const withNewline = (f: string): string => (f.endsWith('\n') ? f : `${f}\n`);

function textFormat(text: string, omitEmpty = false): EnvoyObject {
  return {
    text_format_source: { inline_string: text },
    ...(omitEmpty ? { omit_empty_values: true } : {}),
  };
}

function jsonFormat(map: Readonly<Record<string, unknown>>, omitEmpty = false): EnvoyObject {
  return {
    json_format: map,
    json_format_options: { sort_properties: false },
    ...(omitEmpty ? { omit_empty_values: true } : {}),
  };
}

function fileLog(path: string, logFormat: EnvoyObject): EnvoyObject {
  return {
    name: 'envoy.access_loggers.file',
    typed_config: typed(FILE_LOG, { path, log_format: logFormat }),
  };
}

/** istiod's FileAccessLogFromMeshConfig: accessLogEncoding and accessLogFormat. */
function fromMeshConfig(path: string, mesh: MeshConfig): EnvoyObject {
  if (mesh.accessLogEncoding === 'JSON') {
    let map: Readonly<Record<string, unknown>> = ISTIO_JSON_FORMAT;
    if (mesh.accessLogFormat) {
      try {
        const parsed: unknown = JSON.parse(mesh.accessLogFormat);
        // istiod logs the error and keeps its default (mesh config validation warned).
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          map = parsed as Record<string, unknown>;
      } catch {
        /* the default, as istiod */
      }
    }
    return fileLog(path, jsonFormat(map));
  }
  const text = mesh.accessLogFormat ? withNewline(mesh.accessLogFormat) : ISTIO_TEXT_FORMAT;
  return fileLog(path, textFormat(text));
}

interface FileProvider {
  readonly path?: string;
  readonly logFormat?: { readonly text?: string; readonly labels?: Record<string, unknown> };
  readonly omitEmptyValues?: boolean;
}

/** istiod's telemetryAccessLog for envoyFileAccessLog; other provider kinds log nothing here. */
function fromProvider(p: ExtensionProvider, mesh: MeshConfig): EnvoyObject | undefined {
  const prov = p['envoyFileAccessLog'] as FileProvider | undefined;
  if (!prov) return undefined;
  const path = prov.path || '/dev/stdout';
  // The built-in `envoy` provider without a format follows mesh config's encoding and format.
  if (p.name === 'envoy' && !prov.logFormat && !prov.omitEmptyValues)
    return fromMeshConfig(path, mesh);
  const omit = prov.omitEmptyValues === true;
  const f = prov.logFormat;
  if (f?.labels !== undefined) {
    const labels = Object.keys(f.labels).length ? f.labels : ISTIO_JSON_FORMAT;
    return fileLog(path, jsonFormat(labels, omit));
  }
  return fileLog(path, textFormat(f?.text ? withNewline(f.text) : ISTIO_TEXT_FORMAT, omit));
}

interface LoggingSpec {
  readonly expression?: string;
  readonly disabled?: boolean;
}

function matches(l: AccessLogging, mode: Mode): boolean {
  const m = l.match?.mode;
  return !m || m === 'CLIENT_AND_SERVER' || m === mode;
}

const namesOf = (l: AccessLogging): string[] => (l.providers ?? []).map((p) => p.name);

/**
 * istiod's mergeLogs: the most specific level that names providers decides which are in scope;
 * each level's entries then set, provider by provider, its filter or `disabled`; an entry with no
 * providers means its parent's (defaultProviders at the top).
 */
export function mergeLogs(
  levels: readonly (readonly AccessLogging[])[],
  defaults: readonly string[],
  mode: Mode,
): Map<string, LoggingSpec> {
  const out = new Map<string, LoggingSpec>();
  if (levels.length === 0) {
    for (const d of defaults) out.set(d, {});
    return out;
  }
  let inScope = [...defaults];
  const filters = new Map<string, LoggingSpec>();
  for (const level of levels) {
    const names = new Set<string>();
    for (const l of level) {
      if (!matches(l, mode)) continue;
      for (const n of namesOf(l)) {
        names.add(n);
        filters.set(n, l.filter?.expression ? { expression: l.filter.expression } : {});
      }
    }
    if (names.size) inScope = [...names];
  }
  const scope = new Set(inScope);
  let parent: readonly string[] = defaults;
  for (const level of levels) {
    for (const l of level) {
      const names = namesOf(l).length ? namesOf(l) : parent;
      parent = names;
      for (const n of names) {
        if (!scope.has(n) || !matches(l, mode)) continue;
        out.set(n, l.disabled ? { disabled: true } : (filters.get(n) ?? {}));
      }
    }
  }
  return out;
}

function celFilter(expression: string): EnvoyObject {
  return {
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: typed(CEL_FILTER, { expression }),
    },
  };
}

/** The AccessLog list for one listener class of a proxy (Istio's AccessLogBuilder). */
export function accessLogsFor(node: ProxyNode, model: MeshModel, mode: Mode): EnvoyObject[] {
  const mesh = model.meshConfig;
  const levels = chainOrder(model.telemetryFor(node))
    .map((t) => t.spec.accessLogging ?? [])
    .filter((l) => l.length > 0);
  const rawDefaults = (mesh.defaultProviders as { accessLogging?: unknown }).accessLogging;
  const defaults = Array.isArray(rawDefaults) ? rawDefaults.map(String) : [];
  const out: EnvoyObject[] = [];
  let configured = false;
  if (levels.length || defaults.length) {
    const merged = mergeLogs(levels, defaults, mode);
    for (const name of [...merged.keys()].sort()) {
      const provider = mesh.extensionProviders.find(
        (p) => p.name.toLowerCase() === name.toLowerCase(),
      );
      const spec = merged.get(name) ?? {};
      const log = provider && fromProvider(provider, mesh);
      if (!log) continue;
      configured = true;
      if (spec.disabled) continue;
      out.push(spec.expression ? { ...log, filter: celFilter(spec.expression) } : log);
    }
  }
  // No Telemetry says anything usable: mesh config's accessLogFile, as istiod falls back.
  if (!configured && mesh.accessLogFile) out.push(fromMeshConfig(mesh.accessLogFile, mesh));
  return out;
}

function withLogs(filter: EnvoyObject, logs: EnvoyObject[]): EnvoyObject {
  const tc = filter['typed_config'] as EnvoyObject | undefined;
  const type = String(tc?.['@type'] ?? '');
  if (!tc || !(type.endsWith(`/${HCM}`) || type.endsWith(`/${TCP_PROXY}`))) return filter;
  return { ...filter, typed_config: { ...tc, access_log: logs } };
}

function chainWithLogs(chain: EnvoyObject, logs: EnvoyObject[]): EnvoyObject {
  const filters = chain['filters'] as EnvoyObject[] | undefined;
  return filters ? { ...chain, filters: filters.map((f) => withLogs(f, logs)) } : chain;
}

/**
 * Adds the proxy's access logs to every HTTP connection manager and tcp_proxy of its listeners:
 * inbound listeners get the SERVER side's, the others (outbound, gateways) the CLIENT side's.
 */
export function withAccessLogs(
  listeners: NamedResource[],
  node: ProxyNode,
  model: MeshModel,
): NamedResource[] {
  const byMode = new Map<Mode, EnvoyObject[]>();
  const logsFor = (mode: Mode): EnvoyObject[] => {
    let l = byMode.get(mode);
    if (!l) byMode.set(mode, (l = accessLogsFor(node, model, mode)));
    return l;
  };
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    const logs = logsFor(r['traffic_direction'] === 'INBOUND' ? 'SERVER' : 'CLIENT');
    if (logs.length === 0) return l;
    const resource: EnvoyObject = { ...r };
    if (Array.isArray(r['filter_chains']))
      resource['filter_chains'] = (r['filter_chains'] as EnvoyObject[]).map((c) =>
        chainWithLogs(c, logs),
      );
    if (r['default_filter_chain'])
      resource['default_filter_chain'] = chainWithLogs(
        r['default_filter_chain'] as EnvoyObject,
        logs,
      );
    return { ...l, resource };
  });
}
