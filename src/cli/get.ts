// `skiff get KIND [NAME]`: resources in force in the running mesh, as a kubectl-like table
// (with where each came from: its file and line, or `applied`), or as YAML/JSON.
import path from 'node:path';
import { stringify } from 'yaml';
import { renderTable } from '../launcher/table.js';
import { CliError, UsageError, type CliIO } from './io.js';
import { resolveKind, resourceTypeName, type KindInfo } from './kinds.js';
import { ControlPlaneClient, currentMesh, refusal, type MeshFlags } from './mesh-client.js';

export interface GetFlags extends MeshFlags {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
}

export interface ApiResource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
  source?: { file: string; line: number };
  origin?: 'file' | 'applied';
}

export async function get(
  kind: string,
  name: string | undefined,
  flags: GetFlags,
  io: CliIO,
): Promise<number> {
  const output = flags.output ?? 'table';
  if (!['table', 'wide', 'yaml', 'json'].includes(output)) {
    throw new UsageError(`-o: ${JSON.stringify(output)} is not yaml or json`);
  }
  const info = resolveKind(kind);
  if (!info) throw new CliError('ERR_UNKNOWN_KIND', `unknown resource type "${kind}"`);
  const namespace = flags.allNamespaces ? undefined : (flags.namespace ?? 'default');
  const query = new URLSearchParams({ kind: info.kind });
  if (namespace) query.set('namespace', namespace);
  if (name) query.set('name', name);
  const mesh = currentMesh(flags);
  const cp = ControlPlaneClient.of(mesh);
  const reply = await cp.request('GET', `/api/v1/resources?${query.toString()}`);
  if (reply.status !== 200) throw refusal(reply, 'get');
  const items = ((reply.body as { resources?: ApiResource[] }).resources ?? []).sort(
    byNamespaceName,
  );
  if (name && items.length === 0) {
    throw new CliError(
      'ERR_NOT_FOUND',
      `${resourceTypeName(info.kind)} "${name}" not found in namespace ${namespace ?? '(any)'}`,
    );
  }
  if (output === 'json') {
    const objects = items.map(manifest);
    io.log(
      JSON.stringify(
        name ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects },
        null,
        2,
      ),
    );
  } else if (output === 'yaml') {
    io.log(items.map((r) => stringify(manifest(r)).trimEnd()).join('\n---\n'));
  } else if (items.length === 0) {
    io.error(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found.');
  } else {
    io.log(renderResources(info, items, mesh.record.launcherCwd));
  }
  return 0;
}

function byNamespaceName(a: ApiResource, b: ApiResource): number {
  return (
    a.metadata.namespace.localeCompare(b.metadata.namespace) ||
    a.metadata.name.localeCompare(b.metadata.name)
  );
}

/** The object as a user would write it: no empty labels, no skiff bookkeeping. */
function manifest(r: ApiResource): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name: r.metadata.name,
    namespace: r.metadata.namespace,
  };
  if (r.metadata.labels && Object.keys(r.metadata.labels).length)
    metadata['labels'] = r.metadata.labels;
  if (r.metadata.annotations && Object.keys(r.metadata.annotations).length) {
    metadata['annotations'] = r.metadata.annotations;
  }
  // A ConfigMap keeps its data at the top, as written.
  if (r.kind === 'ConfigMap')
    return { apiVersion: r.apiVersion, kind: r.kind, metadata, ...(r.spec as object) };
  return { apiVersion: r.apiVersion, kind: r.kind, metadata, spec: r.spec };
}

type Spec = Record<string, unknown>;
const list = (v: unknown): string =>
  Array.isArray(v) && v.length ? `[${v.map(String).join(',')}]` : '';

/** Columns kubectl shows for these kinds (Istio's CRDs' additionalPrinterColumns). */
const COLUMNS: Record<string, { headers: string[]; cells: (spec: Spec) => string[] }> = {
  VirtualService: {
    headers: ['GATEWAYS', 'HOSTS'],
    cells: (s) => [list(s['gateways']), list(s['hosts'])],
  },
  DestinationRule: { headers: ['HOST'], cells: (s) => [String(s['host'] ?? '')] },
  ServiceEntry: {
    headers: ['HOSTS', 'LOCATION', 'RESOLUTION'],
    cells: (s) => [list(s['hosts']), String(s['location'] ?? ''), String(s['resolution'] ?? '')],
  },
  PeerAuthentication: {
    headers: ['MODE'],
    cells: (s) => [String((s['mtls'] as Spec | undefined)?.['mode'] ?? '')],
  },
  AuthorizationPolicy: { headers: ['ACTION'], cells: (s) => [String(s['action'] ?? 'ALLOW')] },
  Service: {
    headers: ['PORTS'],
    cells: (s) => [
      ((s['ports'] as Spec[] | undefined) ?? [])
        .map((p) => `${String(p['port'])}/${String(p['protocol'] ?? 'TCP')}`)
        .join(','),
    ],
  },
  Workload: {
    headers: ['REPLICAS', 'COMMAND'],
    cells: (s) => [
      String(s['replicas'] ?? 1),
      ((s['command'] as string[] | undefined) ?? []).join(' '),
    ],
  },
};

/** NAMESPACE NAME <kind's columns> ORIGIN: ORIGIN says which file (and line) or `applied`. */
export function renderResources(
  info: KindInfo,
  items: readonly ApiResource[],
  sourceBase: string,
): string {
  const extra = COLUMNS[info.kind] ?? { headers: [], cells: () => [] };
  const rows = items.map((r) => [
    r.metadata.namespace,
    r.metadata.name,
    ...extra.cells((r.spec ?? {}) as Spec),
    origin(r, sourceBase),
  ]);
  return renderTable(['NAMESPACE', 'NAME', ...extra.headers, 'ORIGIN'], rows);
}

/** Paths relative to the cwd when they are under it, else absolute. */
function origin(r: ApiResource, sourceBase: string): string {
  if (r.origin === 'applied' || !r.source) return 'applied';
  const rel = path.relative(process.cwd(), path.resolve(sourceBase, r.source.file));
  const file = rel && !rel.startsWith('..') ? rel : path.resolve(sourceBase, r.source.file);
  return `${file}:${r.source.line}`;
}
