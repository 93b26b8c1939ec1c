// VirtualService delegation (Istio's mergeVirtualServicesIfNeeded / MergeHTTPRoutes): a root
// VirtualService's route with `delegate` is replaced by the delegate VirtualService's routes,
// each match merged under the root's (a delegate match that conflicts with every root match
// drops its route), the root filling in what a delegate route leaves unset. Destination hosts
// of delegate routes resolve in the delegate's namespace.
import type { VirtualServiceSpec } from '../../config/kinds.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';

export type HttpRoute = NonNullable<VirtualServiceSpec['http']>[number];
type HttpMatch = NonNullable<HttpRoute['match']>[number];
type StringMatch = { exact?: string; prefix?: string; regex?: string };

/** A route to translate, and the namespace its short host names resolve in. */
export interface ResolvedRoute {
  readonly route: HttpRoute;
  readonly namespace: string;
}

/** The VirtualService's HTTP routes with every delegate route expanded, in order. */
export function expandDelegates(vs: BoundVirtualService, model: MeshModel): ResolvedRoute[] {
  const out: ResolvedRoute[] = [];
  for (const route of vs.spec.http ?? []) {
    const d = route.delegate;
    if (!d) {
      out.push({ route, namespace: vs.namespace });
      continue;
    }
    const namespace = d.namespace || vs.namespace;
    const delegate = model.delegateVirtualService(namespace, d.name ?? '');
    // Istio skips the root route when its delegate is missing or not exported to the root.
    if (!delegate || !exportedTo(delegate, vs.namespace)) continue;
    for (const sub of delegate.spec.http ?? []) {
      const merged = mergeRoute(route, sub);
      if (merged) out.push({ route: merged, namespace });
    }
  }
  return out;
}

function exportedTo(vs: BoundVirtualService, namespace: string): boolean {
  return vs.exportTo.some(
    (e) => e === '*' || e === namespace || (e === '.' && vs.namespace === namespace),
  );
}

/** Istio's mergeHTTPRoute: undefined when no delegate match fits under the root's matches. */
export function mergeRoute(root: HttpRoute, delegate: HttpRoute): HttpRoute | undefined {
  const match = mergeMatches(root.match ?? [], delegate.match ?? []);
  if (match === undefined) return undefined;
  const name =
    delegate.name && root.name ? `${root.name}-${delegate.name}` : (delegate.name ?? root.name);
  const out: HttpRoute = { ...delegate };
  if (match.length) out.match = match;
  else delete out.match;
  if (name) out.name = name;
  const inherit = [
    'rewrite',
    'directResponse',
    'timeout',
    'retries',
    'fault',
    'mirror',
    'mirrorPercent',
    'mirrorPercentage',
    'corsPolicy',
    'mirrors',
    'headers',
  ] as const;
  const target = out as Record<string, unknown>;
  for (const k of inherit)
    if (target[k] === undefined && root[k] !== undefined) target[k] = root[k];
  return out;
}

/** Every delegate match must fit under at least one root match; one merged match per pair. */
function mergeMatches(root: HttpMatch[], delegate: HttpMatch[]): HttpMatch[] | undefined {
  if (root.length === 0) return delegate;
  if (delegate.length === 0) return root;
  const out: HttpMatch[] = [];
  for (const sub of delegate) {
    let found = false;
    for (const r of root) {
      if (conflicts(r, sub)) continue;
      out.push(mergeMatch(r, sub));
      found = true;
    }
    if (!found) return undefined;
  }
  return out.length ? out : undefined;
}

function mergeMatch(root: HttpMatch, d: HttpMatch): HttpMatch {
  const out: HttpMatch = { ...d };
  const name = d.name && root.name ? `${root.name}-${d.name}` : (d.name ?? root.name);
  if (name) out.name = name;
  for (const k of ['uri', 'scheme', 'method', 'authority', 'port', 'sourceNamespace'] as const) {
    if (out[k] === undefined && root[k] !== undefined)
      (out as Record<string, unknown>)[k] = root[k];
  }
  for (const k of ['headers', 'withoutHeaders', 'queryParams', 'sourceLabels'] as const) {
    if (root[k] || d[k]) (out as Record<string, unknown>)[k] = { ...root[k], ...d[k] };
  }
  if (!out.gateways?.length && root.gateways?.length) out.gateways = root.gateways;
  if (!out.statPrefix && root.statPrefix) out.statPrefix = root.statPrefix;
  return out;
}

/** Istio's hasConflict: a delegate match that cannot be a narrowing of the root match. */
function conflicts(root: HttpMatch, leaf: HttpMatch): boolean {
  for (const k of ['uri', 'scheme', 'method', 'authority'] as const) {
    if (stringConflict(root[k] as StringMatch | undefined, leaf[k] as StringMatch | undefined))
      return true;
  }
  for (const k of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    const r = (root[k] ?? {}) as Record<string, StringMatch>;
    for (const [name, m] of Object.entries((leaf[k] ?? {}) as Record<string, StringMatch>))
      if (stringConflict(r[name], m)) return true;
  }
  if (Boolean(root.ignoreUriCase) !== Boolean(leaf.ignoreUriCase)) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {}))
    if (root.sourceLabels?.[k] !== undefined && root.sourceLabels[k] !== v) return true;
  if (root.gateways?.length && leaf.gateways?.length) {
    if (root.gateways.length < leaf.gateways.length) return true;
    if (leaf.gateways.some((g) => !root.gateways?.includes(g))) return true;
  }
  return false;
}

function stringConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  // A regex on one side and anything on the other cannot be compared: conflict.
  if (root.regex && (leaf.regex || leaf.prefix || leaf.exact)) return true;
  if (leaf.regex && (root.regex || root.prefix || root.exact)) return true;
  if (root.exact) return leaf.prefix ? true : leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}
