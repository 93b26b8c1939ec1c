// What the generators' tests share: a mesh model built from YAML text (which must parse without
// an error), and the node of a workload's proxy asking for its config.
import assert from 'node:assert/strict';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshConfig } from '../model/mesh-config.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { MeshModel } from '../model/mesh-model.js';

export interface ModelOptions {
  readonly meshConfig?: MeshConfig;
  readonly instances?: readonly WorkloadInstance[];
  /** JWKS documents by jwksUri, as the control plane would have fetched them. */
  readonly jwks?: Readonly<Record<string, string>>;
}

export function modelOf(text: string, o: ModelOptions = {}): MeshModel {
  const { resources, problems } = parseConfigText(text, 'test.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  return MeshModel.build({
    resources,
    instances: [...(o.instances ?? [])],
    meshConfig: o.meshConfig ?? DEFAULT_MESH_CONFIG,
    ...(o.jwks ? { jwks: new Map(Object.entries(o.jwks)) } : {}),
  });
}

/** Workload `w` (service account `sa`) in `namespace`: a sidecar with one HTTP port, or a router. */
export function workloadNode(
  namespace: string,
  labels: Record<string, string>,
  type: 'sidecar' | 'router' = 'sidecar',
): ProxyNode {
  return {
    id: `${type}~127.0.0.1~w-0.${namespace}~${namespace}.svc.cluster.local`,
    type,
    name: 'w-0',
    namespace,
    workloadName: 'w',
    serviceAccount: 'sa',
    labels,
    ip: '127.0.0.1',
    ...(type === 'sidecar' ? { outboundPort: 15001 } : {}),
    inbound:
      type === 'sidecar'
        ? [{ containerPort: 9080, name: 'http', listenPort: 31000, appPort: 31001 }]
        : [],
    istioVersion: '',
  };
}
