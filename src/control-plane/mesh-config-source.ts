// The base mesh config the control plane starts from: Istio's defaults, overlaid by the
// --mesh-config file when given (the `istio` ConfigMap in the config overlays the result later).
import { MeshConfigError, loadMeshConfigFile } from '../config/mesh-config-file.js';
import { formatProblem } from '../config/resource.js';
import type { MeshConfig } from './model/mesh-config.js';
import { DEFAULT_MESH_CONFIG, applyMeshConfig } from './model/mesh-config.js';

/** Reads the file (its warnings logged); throws MeshConfigError listing its errors. */
export async function baseMeshConfig(
  file: string | undefined,
  log: (line: string) => void,
): Promise<MeshConfig> {
  if (!file) return DEFAULT_MESH_CONFIG;
  const { overlay, problems } = await loadMeshConfigFile(file);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new MeshConfigError(
      `${file}: the mesh config is invalid:\n${errors.map(formatProblem).join('\n')}`,
    );
  }
  for (const p of problems) log(formatProblem(p));
  log(`mesh config: ${file}`);
  return applyMeshConfig(DEFAULT_MESH_CONFIG, overlay);
}
