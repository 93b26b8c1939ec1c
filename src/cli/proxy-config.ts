// `skiff proxy-config listeners|routes|clusters|endpoints|all INSTANCE`: what one proxy runs,
// read from its admin /config_dump, as istioctl's proxy-config tables (or the JSON itself).
import type { LocatedMesh } from '../launcher/mesh-record.js';
import { TABLES, dumpSection, type Section } from './config-dump.js';
import { CliError, UsageError, type CliIO } from './io.js';
import { currentMesh, requestJson, type MeshFlags } from './mesh-client.js';
import { renderTable } from '../launcher/table.js';
import type { CertsReport } from '../proxy/identity/certs.js';

export interface ProxyConfigFlags extends MeshFlags {
  output?: string;
  namespace?: string;
}

const SECTIONS: readonly Section[] = ['clusters', 'listeners', 'routes', 'endpoints'];
const ALIASES: Record<string, Section | 'all'> = {
  cluster: 'clusters',
  clusters: 'clusters',
  listener: 'listeners',
  listeners: 'listeners',
  route: 'routes',
  routes: 'routes',
  endpoint: 'endpoints',
  endpoints: 'endpoints',
  all: 'all',
};

/** `secret`: the certificates in use, from the proxy's admin /certs (istioctl's table). */
async function secretConfig(
  port: number,
  instance: string,
  json: boolean,
  io: CliIO,
): Promise<number> {
  const reply = await requestJson(`http://127.0.0.1:${port}/certs`, {
    what: `the proxy ${instance}`,
  });
  if (reply.status !== 200) {
    throw new CliError(
      'ERR_PROXY',
      `the proxy ${instance} answered /certs with HTTP ${reply.status}`,
    );
  }
  if (json) {
    io.log(JSON.stringify(reply.body, null, 2));
    return 0;
  }
  const { SECRET_HEADERS, secretRows } = await import('../proxy/identity/certs.js');
  io.log(renderTable(SECRET_HEADERS, secretRows(reply.body as CertsReport)));
  return 0;
}

/** The admin port of an instance (`reviews-v1-0`, `reviews-v1-0.default`) or the gateway. */
export function adminPortOf(mesh: LocatedMesh, instance: string, namespace?: string): number {
  const [name, ns = namespace] = instance.split('.', 2);
  const { record } = mesh;
  const gw = record.gateway;
  if (name === gw.name && (!ns || ns === gw.namespace)) return gw.adminPort;
  const egress = record.egressGateway;
  if (egress && name === egress.name && (!ns || ns === egress.namespace)) return egress.adminPort;
  const found = record.instances.find((i) => i.name === name && (!ns || i.namespace === ns));
  if (found) return found.adminPort;
  const known = [
    ...record.instances.map((i) => `${i.name}.${i.namespace}`),
    `${gw.name}.${gw.namespace}`,
  ];
  throw new CliError(
    'ERR_NOT_FOUND',
    `no proxy named ${instance} in the mesh (proxies: ${known.join(', ')})`,
  );
}

export async function proxyConfig(
  what: string,
  instance: string,
  flags: ProxyConfigFlags,
  io: CliIO,
): Promise<number> {
  const isSecret = ['secret', 'secrets'].includes(what.toLowerCase());
  const section = ALIASES[what.toLowerCase()];
  if (!section && !isSecret) {
    throw new UsageError(
      `unknown config type "${what}" (listeners, routes, clusters, endpoints, secret, all)`,
    );
  }
  const output = flags.output ?? 'table';
  if (output !== 'table' && output !== 'json') {
    throw new UsageError(`-o: ${JSON.stringify(output)} is not json`);
  }
  const port = adminPortOf(currentMesh(flags), instance, flags.namespace);
  if (isSecret || !section) return secretConfig(port, instance, output === 'json', io);
  const reply = await requestJson(`http://127.0.0.1:${port}/config_dump`, {
    what: `the proxy ${instance}`,
  });
  if (reply.status !== 200) {
    throw new CliError(
      'ERR_PROXY',
      `the proxy ${instance} answered /config_dump with HTTP ${reply.status}`,
    );
  }
  const sections = section === 'all' ? SECTIONS : [section];
  if (output === 'json') {
    const body = section === 'all' ? reply.body : dumpSection(reply.body, section);
    io.log(JSON.stringify(body, null, 2));
    return 0;
  }
  io.log(sections.map((s) => TABLES[s](reply.body)).join('\n\n'));
  return 0;
}
