// `skiff proxy-config listeners|routes|clusters|endpoints|all INSTANCE`: what one proxy runs,
// read from its admin /config_dump, as istioctl's proxy-config tables (or the JSON itself).
import type { LocatedMesh } from '../launcher/mesh-record.js';
import { TABLES, dumpSection, type Section } from './config-dump.js';
import { CliError, UsageError, type CliIO } from './io.js';
import { currentMesh, requestJson, type MeshFlags } from './mesh-client.js';

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
  const section = ALIASES[what.toLowerCase()];
  if (!section) {
    throw new UsageError(
      `unknown config type "${what}" (listeners, routes, clusters, endpoints, all)`,
    );
  }
  const output = flags.output ?? 'table';
  if (output !== 'table' && output !== 'json') {
    throw new UsageError(`-o: ${JSON.stringify(output)} is not json`);
  }
  const port = adminPortOf(currentMesh(flags), instance, flags.namespace);
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
