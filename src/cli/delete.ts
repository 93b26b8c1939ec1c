// `skiff delete -f FILE|DIR` or `skiff delete KIND NAME [-n NS]`: removes applied resources
// (resources that come from the watched directory are refused: remove them from their file).
import { CliError, UsageError, type CliIO } from './io.js';
import { resolveKind, resourceTypeName } from './kinds.js';
import { readManifests } from './manifests.js';
import { ControlPlaneClient, currentMesh, refusal, type MeshFlags } from './mesh-client.js';

export interface DeleteFlags extends MeshFlags {
  filename: string[];
  namespace?: string;
  ignoreNotFound?: boolean;
}

interface Ref {
  kind: string;
  namespace: string;
  name: string;
}

export async function del(
  kind: string | undefined,
  names: string[],
  flags: DeleteFlags,
  io: CliIO,
): Promise<number> {
  const body = deleteBody(kind, names, flags);
  const cp = ControlPlaneClient.of(currentMesh(flags));
  const reply = await cp.request('POST', '/api/v1/delete', body);
  if (reply.status !== 200) throw refusal(reply, 'delete');
  const result = reply.body as { deleted?: Ref[]; notFound?: Ref[] };
  for (const d of result.deleted ?? []) {
    io.log(`${resourceTypeName(d.kind)} "${d.name}" deleted`);
  }
  const missing = result.notFound ?? [];
  if (flags.ignoreNotFound || missing.length === 0) return 0;
  for (const m of missing) {
    io.error(
      `skiff: ${resourceTypeName(m.kind)} "${m.name}" not found in namespace ${m.namespace}`,
    );
  }
  return 1;
}

function deleteBody(kind: string | undefined, names: string[], flags: DeleteFlags): unknown {
  if (flags.filename.length > 0) {
    if (kind) throw new UsageError('give either -f FILE or KIND NAME, not both');
    return { files: readManifests(flags.filename) };
  }
  if (!kind || names.length === 0) {
    throw new UsageError('give -f FILE|DIR, or KIND NAME [-n NAMESPACE]');
  }
  const info = resolveKind(kind);
  if (!info) throw new CliError('ERR_UNKNOWN_KIND', `unknown resource type "${kind}"`);
  const namespace = flags.namespace ?? 'default';
  return { resources: names.map((name) => ({ kind: info.kind, namespace, name })) };
}
