// Mesh config pathNormalization → every HTTP connection manager's path options, as istiod's
// buildHTTPConnectionManager sets them on sidecars (inbound and outbound) and gateways alike.
import type { MeshConfig, PathNormalization } from '../../config/mesh-config.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { NamedResource } from '../server/snapshot.js';

type EnvoyObject = Record<string, unknown>;

const HCM_TYPE =
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/**
 * The HCM fields of each option (istiod listener_builder.go): NONE turns normalize_path off;
 * BASE is RFC 3986 normalisation; MERGE_SLASHES adds merge_slashes; DECODE_AND_MERGE_SLASHES also
 * unescapes %2F and %5C first. Escaped slashes are otherwise kept.
 */
export function hcmPathFields(n: PathNormalization): EnvoyObject {
  return {
    normalize_path: n !== 'NONE',
    merge_slashes: n === 'MERGE_SLASHES' || n === 'DECODE_AND_MERGE_SLASHES',
    path_with_escaped_slashes_action:
      n === 'DECODE_AND_MERGE_SLASHES' ? 'UNESCAPE_AND_FORWARD' : 'KEEP_UNCHANGED',
  };
}

function withFields(chain: EnvoyObject, fields: EnvoyObject): EnvoyObject {
  const filters = chain['filters'] as EnvoyObject[] | undefined;
  if (!filters) return chain;
  return {
    ...chain,
    filters: filters.map((f) => {
      const tc = f['typed_config'] as EnvoyObject | undefined;
      const type = tc?.['@type'];
      return typeof type === 'string' && type.endsWith(`/${HCM_TYPE}`)
        ? { ...f, typed_config: { ...tc, ...fields } }
        : f;
    }),
  };
}

/** Sets the mesh's path normalisation on every HCM of `listeners` (a no-op without a model). */
export function withPathNormalization(
  listeners: NamedResource[],
  model: MeshModel | undefined,
): NamedResource[] {
  const mesh: MeshConfig | undefined = model?.meshConfig;
  const n = mesh?.pathNormalization?.normalization ?? 'BASE';
  const fields = hcmPathFields(n);
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    const chains = r['filter_chains'] as EnvoyObject[] | undefined;
    const dflt = r['default_filter_chain'] as EnvoyObject | undefined;
    if (!chains && !dflt) return l;
    return {
      ...l,
      resource: {
        ...r,
        ...(chains ? { filter_chains: chains.map((c) => withFields(c, fields)) } : {}),
        ...(dflt ? { default_filter_chain: withFields(dflt, fields) } : {}),
      },
    };
  });
}
