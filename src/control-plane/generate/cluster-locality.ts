// Locality load balancing for one proxy, as Istio applies it to a ClusterLoadAssignment
// (pilot/pkg/networking/core/loadbalancer): `distribute` sets locality weights from the
// proxy's locality; failover (needs outlier detection) puts localities at priorities by how
// much of region/zone/subzone they share with the proxy, `failover` choosing the next region
// and `failoverPriority` ranking endpoints by the labels they share with the proxy.
import type { DestinationRuleSpec } from '../../config/kinds.js';

type EnvoyObject = Record<string, unknown>;

export type LocalityLbSetting = NonNullable<
  NonNullable<
    NonNullable<DestinationRuleSpec['trafficPolicy']>['loadBalancer']
  >['localityLbSetting']
>;

/** One endpoint as the EDS generator built it, with the labels failoverPriority reads. */
export interface LocalityEndpoint {
  readonly lbEndpoint: EnvoyObject;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight: number;
}

export interface LocalityGroup {
  /** `region/zone/subzone`. */
  readonly locality: string;
  readonly endpoints: readonly LocalityEndpoint[];
}

export interface LocalityLbInput {
  readonly setting: LocalityLbSetting | undefined;
  /** Failover only works with outlier detection (else nothing would ever fail over). */
  readonly outlierDetection: boolean;
  readonly proxyLocality: string;
  readonly proxyLabels: Readonly<Record<string, string>>;
}

interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

function parse(l: string): Locality {
  const [region = '', zone = '', subZone = ''] = l.split('/');
  return { region, zone, subZone };
}

export function localityObject(locality: string): EnvoyObject {
  const { region, zone, subZone } = parse(locality);
  const out: EnvoyObject = {};
  if (region) out['region'] = region;
  if (zone) out['zone'] = zone;
  if (subZone) out['sub_zone'] = subZone;
  return out;
}

/** Istio's util.LocalityMatch: `region/zone/subzone` with `*` and empty tails as wildcards. */
export function localityMatch(proxy: string, rule: string): boolean {
  const p = parse(proxy);
  const [region = '', zone = '', subZone = ''] = rule.split('/');
  return (
    (region === '*' || region === p.region) &&
    (zone === '*' || zone === '' || zone === p.zone) &&
    (subZone === '*' || subZone === '' || subZone === p.subZone)
  );
}

/** Istio's util.LbPriority: 0 same subzone, 1 same zone, 2 same region, 3 elsewhere. */
function lbPriority(proxy: Locality, ep: Locality): number {
  if (proxy.region !== ep.region) return 3;
  if (proxy.zone !== ep.zone) return 2;
  return proxy.subZone === ep.subZone ? 0 : 1;
}

interface Built {
  locality: string;
  priority: number;
  weight: number | undefined;
  endpoints: LocalityEndpoint[];
}

/** Renumbers priorities 0..N without gaps, keeping their order (Envoy wants no holes). */
function compact(groups: Built[]): void {
  const used = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  for (const g of groups) g.priority = used.indexOf(g.priority);
}

function applyWeights(
  groups: Built[],
  proxy: string,
  distribute: LocalityLbSetting['distribute'],
): void {
  const rule = (distribute ?? []).find((d) => d && localityMatch(proxy, d.from ?? ''));
  if (!rule) return;
  const unmatched = new Set(groups);
  for (const [to, weight] of Object.entries(rule.to ?? {})) {
    const hit = groups.filter((g) => unmatched.has(g) && localityMatch(g.locality, to));
    const total = hit.reduce((s, g) => s + (g.weight ?? 1), 0);
    for (const g of hit) {
      unmatched.delete(g);
      // A wildcard `to` shares its weight among the localities it matches, by their size.
      const w = ((g.weight ?? 1) * Number(weight)) / total;
      if (w > 0) g.weight = Math.ceil(w);
    }
  }
  // Localities the rule does not name get no traffic.
  for (const g of unmatched) g.endpoints = [];
}

function applyFailover(
  groups: Built[],
  proxy: string,
  failover: LocalityLbSetting['failover'],
): void {
  const p = parse(proxy);
  for (const g of groups) {
    const ep = parse(g.locality);
    let priority = lbPriority(p, ep);
    if (priority === 3) {
      // An explicit failover from the proxy's region: other regions than its target go last.
      const rule = (failover ?? []).find((f) => f?.from === p.region);
      if (rule && ep.region !== rule.to) priority = 4;
    }
    // Five slots per earlier (failoverPriority) priority keep that ranking first.
    g.priority = g.priority * 5 + priority;
  }
  compact(groups);
}

/** Istio's failoverPriority: endpoints split by how many leading labels match the proxy's. */
function applyFailoverPriority(
  groups: Built[],
  labels: Readonly<Record<string, string>>,
  keys: readonly string[],
): Built[] {
  // Istio: without proxy labels there is nothing to rank by.
  if (Object.keys(labels).length === 0) return groups;
  const parsed = keys.map((k) => {
    const eq = k.indexOf('=');
    return eq < 0
      ? { label: k, value: undefined }
      : { label: k.slice(0, eq), value: k.slice(eq + 1) };
  });
  const out: Built[] = [];
  for (const g of groups) {
    const byPriority = new Map<number, LocalityEndpoint[]>();
    for (const e of g.endpoints) {
      let priority = 0;
      for (let j = 0; j < parsed.length; j++) {
        const { label, value } = parsed[j]!;
        if ((value ?? labels[label]) !== e.labels[label]) {
          priority = parsed.length - j;
          break;
        }
      }
      const list = byPriority.get(priority) ?? [];
      list.push(e);
      byPriority.set(priority, list);
    }
    for (const [priority, endpoints] of [...byPriority].sort((a, b) => a[0] - b[0]))
      out.push({
        locality: g.locality,
        priority,
        weight: endpoints.reduce((s, e) => s + e.weight, 0),
        endpoints,
      });
  }
  compact(out);
  return out;
}

/**
 * The assignment's `endpoints` (LocalityLbEndpoints) for one proxy: each locality weighted by
 * its endpoints' weights (as Istio), then distribute or failover applied.
 */
export function localityLbEndpoints(
  groups: readonly LocalityGroup[],
  lb: LocalityLbInput | undefined,
): EnvoyObject[] {
  let built: Built[] = groups.map((g) => ({
    locality: g.locality,
    priority: 0,
    weight: g.endpoints.reduce((s, e) => s + e.weight, 0),
    endpoints: [...g.endpoints],
  }));
  const setting = lb?.setting;
  // Istio's mesh default enables locality load balancing: with outlier detection, failover by
  // locality applies even when the DestinationRule says nothing about localities.
  const enabled = setting?.enabled !== false;
  if (lb && enabled) {
    if (setting?.distribute?.length) applyWeights(built, lb.proxyLocality, setting.distribute);
    else if (lb.outlierDetection) {
      if (setting?.failoverPriority?.length) {
        built = applyFailoverPriority(built, lb.proxyLabels, setting.failoverPriority);
        if (setting.failover?.length) applyFailover(built, lb.proxyLocality, setting.failover);
      } else applyFailover(built, lb.proxyLocality, setting?.failover);
    }
  }
  return built.map((g) => {
    const out: EnvoyObject = {
      locality: localityObject(g.locality),
      lb_endpoints: g.endpoints.map((e) => e.lbEndpoint),
    };
    if (g.weight) out['load_balancing_weight'] = g.weight;
    if (g.priority) out['priority'] = g.priority;
    return out;
  });
}

/**
 * Whether the cluster gets common_lb_config.locality_weighted_lb_config (Istio sets it with
 * `distribute`, or with failover settings once outlier detection makes failover apply).
 */
export function localityWeighted(
  setting: LocalityLbSetting | undefined,
  outlierDetection: boolean,
): boolean {
  if (!setting || setting.enabled === false) return false;
  if (setting.distribute?.length) return true;
  return outlierDetection && Boolean(setting.failover?.length || setting.failoverPriority?.length);
}
