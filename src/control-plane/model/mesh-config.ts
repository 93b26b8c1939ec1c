// Istio's MeshConfig as the model sees it: Istio's defaults, overlaid by the --mesh-config file
// (the base the control plane starts with), overlaid by the `istio` ConfigMap in istio-system
// when the config holds one (as istiod reads its ConfigMap, and follows its changes).
import type { ConfigMapSpec } from '../../config/kinds.js';
import { checkMeshConfigText } from '../../config/checks/config-map.js';
import type { MeshConfig } from '../../config/mesh-config.js';
import {
  DEFAULT_MESH_CONFIG,
  MESH_CONFIG_MAP,
  applyMeshConfig,
  isMeshConfigMap,
} from '../../config/mesh-config.js';
import type { ConfigResource } from '../../config/resource.js';

export type { MeshConfig, OutboundTrafficMode } from '../../config/mesh-config.js';
export { DEFAULT_MESH_CONFIG, applyMeshConfig };

/**
 * The mesh config in force: `base` with the `istio` ConfigMap of `resources` laid over it. The
 * ConfigMap has been validated on its way into the store, so it is read here without reporting.
 */
export function meshConfigIn(resources: readonly ConfigResource[], base: MeshConfig): MeshConfig {
  const cm = resources.find(
    (r) => r.kind === 'ConfigMap' && isMeshConfigMap(r.metadata.name, r.metadata.namespace),
  ) as ConfigResource<ConfigMapSpec> | undefined;
  const text = cm?.spec.data[MESH_CONFIG_MAP.key];
  if (text === undefined) return base;
  const overlay = checkMeshConfigText(text, { firstLine: 1, prefix: [], sink: { at: () => {} } });
  return applyMeshConfig(base, overlay);
}
