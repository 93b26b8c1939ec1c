// Istio host names: short names resolve in the config's namespace, wildcards match by suffix.

import { DOMAIN_SUFFIX } from '../../config/resource.js';

/**
 * Istio's rule (ResolveShortnameToFQDN): a name without a dot is a Kubernetes short name and
 * gets `.<namespace>.svc.cluster.local`; anything with a dot, and `*`, stays as written.
 */
export function resolveHost(host: string, namespace: string): string {
  const h = host.toLowerCase();
  if (h === '*' || h.includes('.')) return h;
  return `${h}.${namespace}.${DOMAIN_SUFFIX}`;
}

export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** Does pattern (possibly `*` or `*.suffix`) match the concrete or wildcard host? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern === host) return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1); // ".example.com"
    if (host.startsWith('*')) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

/** Either matches the other: Istio's "hosts intersect" for gateway server hosts vs VS hosts. */
export function hostsIntersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** The narrower of two intersecting hosts (what a gateway virtual host is named after). */
export function narrowerHost(a: string, b: string): string {
  if (!isWildcard(a)) return a;
  if (!isWildcard(b)) return b;
  return a.length >= b.length ? a : b;
}

/** `name.namespace.svc.cluster.local` → {name, namespace}; other hosts → null fields. */
export function kubernetesParts(hostname: string): { name: string; namespace: string } | undefined {
  const suffix = `.${DOMAIN_SUFFIX}`;
  if (!hostname.endsWith(suffix)) return undefined;
  const [name, namespace, ...rest] = hostname.slice(0, -suffix.length).split('.');
  if (!name || !namespace || rest.length) return undefined;
  return { name, namespace };
}
