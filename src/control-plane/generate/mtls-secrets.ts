// SDS Secrets for a sidecar's clusters: DestinationRule tls.credentialName names a Kubernetes
// TLS Secret (in the config directory) whose certificate goes out as `kubernetes://<name>` and
// whose CA (its ca.crt, or Secret `<name>-cacert`) as `kubernetes://<name>-cacert`, as Istio's
// SDS server resolves them. The Secret is looked up in the proxy's namespace (Istio's rule for
// sidecars), then in the namespace of the DestinationRule that names it.
import { secretData } from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import { SDS_PREFIX, caOf, certOf } from './gateway-tls.js';

type EnvoyObject = Record<string, unknown>;

/** Every `kubernetes://` SDS name a set of clusters references. */
function referencedNames(clusters: readonly NamedResource[]): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as EnvoyObject;
      if (typeof o['name'] === 'string' && o['sds_config'] && o['name'].startsWith(SDS_PREFIX))
        out.add(o['name']);
      for (const x of Object.values(o)) walk(x);
    }
  };
  for (const c of clusters) {
    const r = c.resource as EnvoyObject;
    walk(r['transport_socket']);
    walk(r['transport_socket_matches']);
  }
  return out;
}

function secretFor(
  model: MeshModel,
  node: ProxyNode,
  name: string,
): Record<string, Buffer> | undefined {
  const own = model.secret(node.namespace, name);
  if (own) return secretData(own.spec);
  const needle = `"credentialName":${JSON.stringify(name)}`;
  for (const dr of model.destinationRules)
    for (const r of dr.from)
      if (JSON.stringify(r.spec).includes(needle)) {
        const s = model.secret(r.metadata.namespace, name);
        if (s) return secretData(s.spec);
      }
  return undefined;
}

export function clusterSecrets(
  node: ProxyNode,
  clusters: readonly NamedResource[],
  model: MeshModel,
): NamedResource[] {
  const out: NamedResource[] = [];
  for (const sds of [...referencedNames(clusters)].sort()) {
    const ref = sds.slice(SDS_PREFIX.length);
    if (ref.endsWith('-cacert')) {
      const base = ref.slice(0, -'-cacert'.length);
      const ca = caOf(secretFor(model, node, base)) ?? caOf(secretFor(model, node, ref));
      if (ca)
        out.push({
          name: sds,
          resource: {
            name: sds,
            validation_context: { trusted_ca: { inline_bytes: ca.toString('base64') } },
          },
        });
      continue;
    }
    const pair = certOf(secretFor(model, node, ref) ?? {});
    if (pair)
      out.push({
        name: sds,
        resource: {
          name: sds,
          tls_certificate: {
            certificate_chain: { inline_bytes: pair.cert.toString('base64') },
            private_key: { inline_bytes: pair.key.toString('base64') },
          },
        },
      });
  }
  return out;
}
