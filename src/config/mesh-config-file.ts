// A mesh config file (`--mesh-config FILE`): MeshConfig YAML as istiod reads it from
// /etc/istio/config/mesh, or the `istio` ConfigMap's manifest that holds it.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { checkMeshConfigText } from './checks/config-map.js';
import { isObject } from './checks/common.js';
import { formatPath } from './locate.js';
import type { MeshConfigOverlay } from './mesh-config.js';
import { MESH_CONFIG_MAP } from './mesh-config.js';
import { parseConfigText } from './parse.js';
import type { ConfigProblem } from './resource.js';

/** A mesh config file with errors: the control plane does not start on it (as istiod). */
export class MeshConfigError extends Error {
  readonly code = 'ERR_MESH_CONFIG';
}

export interface MeshConfigFileResult {
  readonly overlay: MeshConfigOverlay;
  /** Errors and warnings, each at its line of the file. */
  readonly problems: readonly ConfigProblem[];
}

const WHO = {
  kind: 'MeshConfig',
  namespace: MESH_CONFIG_MAP.namespace,
  name: MESH_CONFIG_MAP.name,
};

/** Reads and validates a mesh config file; an unreadable file is a problem, not an exception. */
export async function loadMeshConfigFile(file: string): Promise<MeshConfigFileResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const problem: ConfigProblem = {
      severity: 'error',
      file,
      line: 0,
      ...WHO,
      field: '',
      message: `cannot read the mesh config: ${(e as Error).message}`,
    };
    return { overlay: {}, problems: [problem] };
  }
  return meshConfigFromText(text, file);
}

/** As loadMeshConfigFile, for text already read. */
export function meshConfigFromText(text: string, file: string): MeshConfigFileResult {
  const first = parseAllDocuments(text);
  const value: unknown = Array.isArray(first) ? first[0]?.toJS() : undefined;
  if (isObject(value) && value['kind'] === 'ConfigMap') {
    // The ConfigMap's own manifest: validated as `skiff validate` would, then its `mesh` key read.
    const parsed = parseConfigText(text, file);
    const problems = parsed.problems;
    const cm = parsed.resources.find((r) => r.kind === 'ConfigMap');
    const mesh = (cm?.spec as { data?: Record<string, string> } | undefined)?.data?.['mesh'];
    if (!cm && !problems.some((p) => p.severity === 'error')) {
      return {
        overlay: {},
        problems: [
          ...problems,
          {
            severity: 'error',
            file,
            line: 1,
            ...WHO,
            field: '',
            message: `the ConfigMap must be ${MESH_CONFIG_MAP.namespace}/${MESH_CONFIG_MAP.name}`,
          },
        ],
      };
    }
    if (mesh === undefined || problems.some((p) => p.severity === 'error'))
      return { overlay: {}, problems };
    // Validated above; read again without reporting.
    const overlay = checkMeshConfigText(mesh, { firstLine: 1, prefix: [], sink: { at: () => {} } });
    return { overlay, problems };
  }
  const problems: ConfigProblem[] = [];
  const overlay = checkMeshConfigText(text, {
    firstLine: 1,
    prefix: [],
    sink: {
      at: (severity, line, field, message) =>
        problems.push({ severity, file, line, ...WHO, field: formatPath(field), message }),
    },
  });
  return { overlay, problems };
}
