// `skiff apply -f FILE|DIR`: adds or changes resources in the running mesh, atomically (nothing
// applies when any document is refused), printing a line per resource as kubectl does.
import { ControlPlaneClient, currentMesh, refusal, type MeshFlags } from './mesh-client.js';
import type { CliIO } from './io.js';
import { resourceTypeName } from './kinds.js';
import { readManifests } from './manifests.js';

export interface ApplyFlags extends MeshFlags {
  filename: string[];
}

interface Applied {
  kind: string;
  namespace: string;
  name: string;
  action: string;
}

export async function apply(flags: ApplyFlags, io: CliIO): Promise<number> {
  const files = readManifests(flags.filename);
  const cp = ControlPlaneClient.of(currentMesh(flags));
  const reply = await cp.request('POST', '/api/v1/apply', { files });
  if (reply.status !== 200) throw refusal(reply, 'apply');
  const body = reply.body as { applied?: Applied[]; warnings?: string[] };
  for (const w of body.warnings ?? []) io.error(w);
  for (const a of body.applied ?? []) {
    io.log(`${resourceTypeName(a.kind)}/${a.name} ${a.action}`);
  }
  return 0;
}
