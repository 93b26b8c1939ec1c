// Reads an Envoy-shaped admin config dump (ConfigDump with one entry per xDS type) into the
// tables istioctl's proxy-config prints: clusters, listeners, routes, endpoints.
import { renderTable } from '../launcher/table.js';

type Json = Record<string, unknown>;

export type Section = 'clusters' | 'listeners' | 'routes' | 'endpoints';

/** The admin ConfigDump message type of each section. */
const DUMP_TYPE: Record<Section, string> = {
  clusters: 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
  listeners: 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
  routes: 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
  endpoints: 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
};

const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** The config dump's entry for one section (Envoy's `configs[]`, matched by `@type`). */
export function dumpSection(dump: unknown, section: Section): Json {
  return obj(arr(obj(dump)['configs']).find((c) => obj(c)['@type'] === DUMP_TYPE[section]));
}

/** Istio's `/apis/networking.istio.io/v1/namespaces/NS/destination-rule/NAME` as `NAME.NS`. */
function istioConfigRef(metadata: unknown): string {
  const config = str(obj(obj(obj(metadata)['filter_metadata'])['istio'])['config']);
  const m = /\/namespaces\/([^/]+)\/[^/]+\/([^/]+)$/.exec(config);
  return m ? `${m[2]}.${m[1]}` : '';
}

export function clustersTable(dump: unknown): string {
  const section = dumpSection(dump, 'clusters');
  const clusters = [
    ...arr(section['static_clusters']),
    ...arr(section['dynamic_active_clusters']),
  ].map((c) => obj(obj(c)['cluster']));
  const rows = clusters.map((c) => {
    const name = str(c['name']);
    // Istio's cluster names: direction|port|subset|fqdn.
    const parts = name.split('|');
    const [direction = '', port = '', subset = '', fqdn = ''] =
      parts.length === 4 ? parts : ['', '', '', name];
    return [
      fqdn,
      port || '-',
      subset || '-',
      direction || '-',
      str(c['type'] ?? 'STATIC'),
      istioConfigRef(c['metadata']),
    ];
  });
  rows.sort(
    (a, b) => (a[0] ?? '').localeCompare(b[0] ?? '') || (a[1] ?? '').localeCompare(b[1] ?? ''),
  );
  return renderTable(
    ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
    rows,
  );
}

function chainMatch(chain: Json): string {
  const m = obj(chain['filter_chain_match']);
  const parts: string[] = [];
  if (m['destination_port'] !== undefined) parts.push(`port ${str(m['destination_port'])}`);
  const serverNames = arr(m['server_names']);
  if (serverNames.length) parts.push(`SNI: ${serverNames.map(str).join(',')}`);
  if (m['transport_protocol']) parts.push(`Trans: ${str(m['transport_protocol'])}`);
  const alpn = arr(m['application_protocols']);
  if (alpn.length) parts.push(`App: ${alpn.map(str).join(',')}`);
  return parts.join('; ') || 'ALL';
}

function chainDestination(chain: Json): string {
  for (const f of arr(chain['filters'])) {
    const typed = obj(obj(f)['typed_config']);
    const type = str(typed['@type']);
    if (type.endsWith('HttpConnectionManager')) {
      const rds = str(obj(typed['rds'])['route_config_name']);
      if (rds) return `Route: ${rds}`;
      const inline = obj(typed['route_config']);
      return `Inline Route: ${str(inline['name']) || '(unnamed)'}`;
    }
    if (type.endsWith('TcpProxy')) {
      const cluster = str(typed['cluster']);
      if (cluster) return `Cluster: ${cluster}`;
      const weighted = arr(obj(typed['weighted_clusters'])['clusters']).map((c) =>
        str(obj(c)['name']),
      );
      return `Clusters: ${weighted.join(',')}`;
    }
  }
  return 'Non-HTTP/Non-TCP';
}

export function listenersTable(dump: unknown): string {
  const section = dumpSection(dump, 'listeners');
  const listeners = [
    ...arr(section['static_listeners']).map((l) => obj(obj(l)['listener'])),
    ...arr(section['dynamic_listeners']).map((l) => obj(obj(obj(l)['active_state'])['listener'])),
  ];
  const rows: string[][] = [];
  for (const l of listeners) {
    const sock = obj(obj(l['address'])['socket_address']);
    const chains = arr(l['filter_chains']).map(obj);
    const def = obj(l['default_filter_chain']);
    if (Object.keys(def).length) chains.push({ ...def, filter_chain_match: {} });
    for (const chain of chains.length ? chains : [{}]) {
      rows.push([
        str(l['name']),
        str(sock['address']),
        str(sock['port_value']),
        chainMatch(chain),
        chainDestination(chain),
      ]);
    }
  }
  return renderTable(['NAME', 'ADDRESSES', 'PORT', 'MATCH', 'DESTINATION'], rows);
}

function routeMatch(match: Json): string {
  if (match['prefix'] !== undefined) return `${str(match['prefix'])}*`;
  if (match['path'] !== undefined) return str(match['path']);
  if (match['safe_regex'] !== undefined) return str(obj(match['safe_regex'])['regex']);
  if (match['path_separated_prefix'] !== undefined)
    return `${str(match['path_separated_prefix'])}/*`;
  return '';
}

function domains(list: unknown[]): string {
  const names = list.map(str);
  return names.length > 2
    ? `${names.slice(0, 2).join(', ')} + ${names.length - 2} more...`
    : names.join(', ');
}

export function routesTable(dump: unknown): string {
  const section = dumpSection(dump, 'routes');
  const configs = [
    ...arr(section['static_route_configs']),
    ...arr(section['dynamic_route_configs']),
  ].map((r) => obj(obj(r)['route_config']));
  const rows: string[][] = [];
  for (const rc of configs) {
    for (const vh of arr(rc['virtual_hosts']).map(obj)) {
      for (const route of arr(vh['routes']).map(obj)) {
        rows.push([
          str(rc['name']),
          str(vh['name']),
          domains(arr(vh['domains'])),
          routeMatch(obj(route['match'])),
          istioConfigRef(route['metadata']),
        ]);
      }
    }
  }
  return renderTable(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows);
}

export function endpointsTable(dump: unknown): string {
  const section = dumpSection(dump, 'endpoints');
  const configs = [
    ...arr(section['static_endpoint_configs']),
    ...arr(section['dynamic_endpoint_configs']),
  ].map((e) => obj(obj(e)['endpoint_config']));
  const rows: string[][] = [];
  for (const cla of configs) {
    for (const locality of arr(cla['endpoints']).map(obj)) {
      for (const lb of arr(locality['lb_endpoints']).map(obj)) {
        const sock = obj(obj(obj(lb['endpoint'])['address'])['socket_address']);
        const health = str(lb['health_status']);
        rows.push([
          `${str(sock['address'])}:${str(sock['port_value'])}`,
          !health || health === 'UNKNOWN' ? 'HEALTHY' : health,
          'OK',
          str(cla['cluster_name']),
        ]);
      }
    }
  }
  rows.sort(
    (a, b) => (a[3] ?? '').localeCompare(b[3] ?? '') || (a[0] ?? '').localeCompare(b[0] ?? ''),
  );
  return renderTable(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows);
}

export const TABLES: Record<Section, (dump: unknown) => string> = {
  clusters: clustersTable,
  listeners: listenersTable,
  routes: routesTable,
  endpoints: endpointsTable,
};
