// DestinationRules indexed as Istio's push context indexes them (setDestinationRules): rules for
// one host in one namespace merged (subsets appended, the first top-level trafficPolicy kept),
// rules with a workloadSelector private to their namespace, and the lookup order a proxy sees:
// its own namespace, the service's, then the root namespace.
import type { DestinationRuleSpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { hostMatches, isWildcard, resolveHost } from './hosts.js';
import { labelsMatch } from './service.js';

export interface BoundDestinationRule {
  /** The first rule merged into this one (the one named in messages). */
  readonly resource: ConfigResource<DestinationRuleSpec>;
  readonly host: string;
  /** The merged spec: the first rule's, with the subsets of later rules for the same host. */
  readonly spec: DestinationRuleSpec;
  /** Every rule merged here, in order. */
  readonly from: readonly ConfigResource<DestinationRuleSpec>[];
}

interface Consolidated {
  rule: BoundDestinationRule;
  readonly exportTo: ReadonlySet<string>;
  readonly selector: Readonly<Record<string, string>> | undefined;
}

type HostIndex = Map<string, Consolidated[]>;

function selectorOf(spec: DestinationRuleSpec): Readonly<Record<string, string>> | undefined {
  return spec.workloadSelector ? (spec.workloadSelector.matchLabels ?? {}) : undefined;
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function sameLabels(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Adds the incoming rule's subsets (not already there) to a consolidated rule; policies: first wins. */
function mergeInto(target: Consolidated, incoming: ConfigResource<DestinationRuleSpec>): void {
  const spec = target.rule.spec;
  const names = new Set((spec.subsets ?? []).map((s) => s.name));
  const subsets = [...(spec.subsets ?? [])];
  for (const s of incoming.spec.subsets ?? []) if (!names.has(s.name)) subsets.push(s);
  const merged: DestinationRuleSpec = { ...spec, subsets };
  if (!merged.trafficPolicy && incoming.spec.trafficPolicy)
    merged.trafficPolicy = incoming.spec.trafficPolicy;
  target.rule = { ...target.rule, spec: merged, from: [...target.rule.from, incoming] };
}

/**
 * Istio's mergeDestinationRule (with its enhanced merge): a rule merges into an earlier one for
 * the same host when their exportTo sets are equal (or it exports to a superset, in which case it
 * also stands alone) and their selectors agree; otherwise it stands alone.
 */
function addRule(
  index: HostIndex,
  host: string,
  r: ConfigResource<DestinationRuleSpec>,
  exportTo: ReadonlySet<string>,
): void {
  const list = index.get(host);
  const selector = selectorOf(r.spec);
  const alone: Consolidated = {
    rule: { resource: r, host, spec: r.spec, from: [r] },
    exportTo,
    selector,
  };
  if (!list) {
    index.set(host, [alone]);
    return;
  }
  let appendSeparately = true;
  for (const mdr of list) {
    if (sameSet(exportTo, mdr.exportTo)) appendSeparately = false;
    else if (!(mdr.exportTo.size > 0 && [...mdr.exportTo].every((e) => exportTo.has(e)))) {
      appendSeparately = true;
      continue;
    } else appendSeparately = true;
    const bothWith = selector !== undefined && mdr.selector !== undefined;
    const bothWithout = selector === undefined && mdr.selector === undefined;
    if (bothWith && !sameLabels(selector, mdr.selector!)) {
      appendSeparately = true;
      continue;
    }
    if (bothWithout || bothWith) appendSeparately = false;
    mergeInto(mdr, r);
  }
  if (appendSeparately) list.push(alone);
}

/** Exact host first, else the longest wildcard covering it (Istio's MostSpecificHostMatch). */
function mostSpecific(index: HostIndex | undefined, hostname: string): Consolidated[] | undefined {
  if (!index) return undefined;
  const exact = index.get(hostname);
  if (exact) return exact;
  let best: string | undefined;
  for (const key of index.keys()) {
    if (isWildcard(key) && hostMatches(key, hostname) && (!best || key.length > best.length))
      best = key;
  }
  return best === undefined ? undefined : index.get(best);
}

export interface DestinationRuleLookup {
  readonly hostname: string;
  /** The namespace of the service (undefined when the host is not a known service). */
  readonly serviceNamespace: string | undefined;
  readonly proxyNamespace: string;
  readonly proxyLabels: Readonly<Record<string, string>>;
}

export class DestinationRuleIndex {
  private readonly namespaceLocal = new Map<string, HostIndex>();
  private readonly exported = new Map<string, HostIndex>();
  private readonly rootLocal: HostIndex = new Map();
  /** Every rule, host resolved, unmerged, in creation order. */
  readonly all: readonly BoundDestinationRule[];

  constructor(
    rules: readonly ConfigResource<DestinationRuleSpec>[],
    private readonly opts: { rootNamespace: string; defaultExportTo: readonly string[] },
  ) {
    const bound = rules.map((r) => {
      const host = resolveHost(r.spec.host ?? '', r.metadata.namespace);
      return { resource: r, host, spec: r.spec, from: [r] };
    });
    this.all = bound;
    // Rules with a selector first, then creation order (sortConfigBySelectorAndCreationTime).
    const sorted = [
      ...bound.filter((b) => b.spec.workloadSelector),
      ...bound.filter((b) => !b.spec.workloadSelector),
    ];
    const privateByDefault = opts.defaultExportTo.includes('.');
    for (const { resource: r, host } of sorted) {
      const ns = r.metadata.namespace;
      // A rule with a workloadSelector is never exported.
      const exportTo: ReadonlySet<string> = r.spec.workloadSelector
        ? new Set(['.'])
        : new Set(r.spec.exportTo ?? []);
      if (exportTo.size === 0 || exportTo.has('*') || exportTo.has('.') || exportTo.has(ns))
        addRule(this.indexIn(this.namespaceLocal, ns), host, r, exportTo);
      const privateOnly =
        (exportTo.size === 0 && privateByDefault) ||
        (exportTo.size === 1 && (exportTo.has('.') || exportTo.has(ns)));
      if (!privateOnly) addRule(this.indexIn(this.exported, ns), host, r, exportTo);
      else if (ns === opts.rootNamespace) addRule(this.rootLocal, host, r, exportTo);
    }
  }

  private indexIn(map: Map<string, HostIndex>, ns: string): HostIndex {
    let index = map.get(ns);
    if (!index) map.set(ns, (index = new Map()));
    return index;
  }

  /**
   * The rule a proxy applies to a host (push context's destinationRule, then the sidecar scope's
   * choice): the first namespace with a rule for the host decides; within it, a rule whose
   * workloadSelector matches the proxy (same namespace) beats the catch-all one.
   */
  lookup(q: DestinationRuleLookup): BoundDestinationRule | undefined {
    const { rootNamespace } = this.opts;
    const local =
      q.proxyNamespace !== rootNamespace
        ? mostSpecific(this.namespaceLocal.get(q.proxyNamespace), q.hostname)
        : mostSpecific(this.rootLocal, q.hostname);
    if (local) return this.choose(local, q);
    for (const ns of [q.serviceNamespace, rootNamespace]) {
      if (ns === undefined) continue;
      const list = mostSpecific(this.exported.get(ns), q.hostname)?.filter(
        (c) => c.exportTo.size === 0 || c.exportTo.has('*') || c.exportTo.has(q.proxyNamespace),
      );
      if (list?.length) return this.choose(list, q);
    }
    return undefined;
  }

  private choose(
    list: readonly Consolidated[],
    q: DestinationRuleLookup,
  ): BoundDestinationRule | undefined {
    let catchAll: Consolidated | undefined;
    for (const c of list) {
      if (!c.selector) catchAll = c;
      else if (
        c.rule.resource.metadata.namespace === q.proxyNamespace &&
        labelsMatch(c.selector, q.proxyLabels)
      )
        return c.rule;
    }
    return catchAll?.rule;
  }
}
