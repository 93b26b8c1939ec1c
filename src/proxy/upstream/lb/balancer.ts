// A cluster's load balancer as Envoy layers it (load_balancer_impl.cc): hosts grouped by
// priority; each level's health (healthy / total × 1.4, capped at 100%) decides how much load it
// takes, so traffic spills to the next level as hosts fail; a level below the panic threshold
// uses all its hosts; with locality weighting a locality is chosen by weight × availability;
// then the policy (round robin, least request, random, ring hash, Maglev) picks the host.
// Rebuilt on every host or health change, never per request.
import type { LbConfig } from '../cluster-config.js';
import type { Host } from '../host.js';
import type { ClusterStats } from '../stats.js';
import type { LoadBalancer } from './load-balancer.js';
import { makeLoadBalancer } from './load-balancer.js';
import { Maglev } from './maglev.js';
import type { WeightedHost } from './ring-hash.js';
import { RingHash } from './ring-hash.js';

/** Envoy's default overprovisioning factor: a level at 72% health still takes all its load. */
const OVERPROVISIONING = 140;

export interface PickContext {
  /** Hosts already tried by this request (the previous_hosts retry predicate). */
  readonly exclude?: ReadonlySet<Host> | undefined;
  /** The route's hash_policy result, for RING_HASH and MAGLEV. */
  readonly hash?: bigint | undefined;
  /** Priorities already tried (the previous_priorities retry priority): taken as unhealthy. */
  readonly excludedPriorities?: ReadonlySet<number> | undefined;
}

interface Chooser {
  pick(ctx: PickContext): Host | undefined;
}

function random64(): bigint {
  const hi = BigInt(Math.floor(Math.random() * 0x100000000));
  const lo = BigInt(Math.floor(Math.random() * 0x100000000));
  return (hi << 32n) | lo;
}

/** Smooth weighted rotation over a few items (localities): exact shares, spread out. */
class SmoothWeighted<T> {
  private readonly current: number[];
  private readonly total: number;

  constructor(
    private readonly items: readonly T[],
    private readonly weights: readonly number[],
  ) {
    this.current = weights.map(() => 0);
    this.total = weights.reduce((a, b) => a + b, 0);
  }

  next(): T | undefined {
    if (!(this.total > 0)) return undefined;
    let best = 0;
    for (let i = 0; i < this.items.length; i++) {
      this.current[i] = this.current[i]! + this.weights[i]!;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best] = this.current[best]! - this.total;
    return this.items[best];
  }
}

function groupByLocality(hosts: readonly Host[]): Map<string, Host[]> {
  const out = new Map<string, Host[]>();
  for (const h of hosts) {
    const list = out.get(h.spec.locality);
    if (list) list.push(h);
    else out.set(h.spec.locality, [h]);
  }
  return out;
}

class PolicyChooser implements Chooser {
  constructor(private readonly lb: LoadBalancer) {}
  pick(ctx: PickContext): Host | undefined {
    return this.lb.pick(ctx.exclude);
  }
}

/** Locality weighted: a locality by weight × availability, then the policy within it. */
class LocalityChooser implements Chooser {
  private readonly rotation: SmoothWeighted<Chooser>;

  constructor(
    choosers: Chooser[],
    weights: number[],
    private readonly fallback: Chooser,
  ) {
    this.rotation = new SmoothWeighted(choosers, weights);
  }

  pick(ctx: PickContext): Host | undefined {
    return (this.rotation.next() ?? this.fallback).pick(ctx);
  }
}

class HashChooser implements Chooser {
  constructor(private readonly table: RingHash | Maglev) {}
  pick(ctx: PickContext): Host | undefined {
    return this.table.pick(ctx.hash ?? random64(), ctx.exclude);
  }
}

/** One priority level's hosts and the choosers over its healthy hosts and (in panic) all. */
class Level {
  readonly healthy: Host[];
  /** Envoy's per-priority health in percent (after overprovisioning, capped at 100). */
  readonly health: number;
  panic = false;
  private healthyChooser: Chooser | undefined;
  private allChooser: Chooser | undefined;

  constructor(
    readonly hosts: Host[],
    private readonly cfg: LbConfig,
    private readonly clock: () => number,
  ) {
    this.healthy = hosts.filter((h) => h.healthy);
    this.health = hosts.length
      ? Math.min(100, Math.floor((OVERPROVISIONING * this.healthy.length) / hosts.length))
      : 0;
  }

  /** Envoy's isHostSetInPanic: healthy share below the threshold (0 disables panic). */
  inPanic(threshold: number): boolean {
    const pct = this.hosts.length ? (100 * this.healthy.length) / this.hosts.length : 0;
    return pct < threshold;
  }

  chooser(all: boolean): Chooser {
    if (all) return (this.allChooser ??= this.build(this.hosts, false));
    return (this.healthyChooser ??= this.build(this.healthy, this.cfg.localityWeighted));
  }

  private policyChooser(hosts: readonly Host[], weights?: Map<Host, number>): Chooser {
    const cfg = this.cfg;
    if (cfg.policy === 'RING_HASH' || cfg.policy === 'MAGLEV') {
      const weighted: WeightedHost[] = hosts.map((h) => ({
        host: h,
        weight: weights?.get(h) ?? h.spec.weight,
      }));
      return new HashChooser(
        cfg.policy === 'MAGLEV'
          ? new Maglev(weighted, cfg.maglevTableSize)
          : new RingHash(weighted, cfg.minRingSize, cfg.maxRingSize),
      );
    }
    return new PolicyChooser(
      makeLoadBalancer(cfg.policy, hosts, {
        choiceCount: cfg.choiceCount,
        activeRequestBias: cfg.activeRequestBias,
        slowStart: cfg.slowStart,
        clock: this.clock,
      }),
    );
  }

  private build(hosts: readonly Host[], localityWeighted: boolean): Chooser {
    if (!localityWeighted) return this.policyChooser(hosts);
    const all = groupByLocality(this.hosts);
    const healthy = groupByLocality(hosts);
    if (this.cfg.policy === 'RING_HASH' || this.cfg.policy === 'MAGLEV') {
      // Hash tables take the locality weight into each host's share (Envoy normalizes both).
      const weights = new Map<Host, number>();
      let totalLocality = 0;
      for (const list of healthy.values()) totalLocality += list[0]?.spec.localityWeight ?? 0;
      for (const list of healthy.values()) {
        const lw = list[0]?.spec.localityWeight ?? 0;
        const hostTotal = list.reduce((s, h) => s + h.spec.weight, 0);
        for (const h of list)
          weights.set(
            h,
            totalLocality > 0 ? (h.spec.weight / hostTotal) * (lw / totalLocality) : 0,
          );
      }
      return this.policyChooser(hosts, weights);
    }
    const choosers: Chooser[] = [];
    const weights: number[] = [];
    for (const [locality, list] of healthy) {
      const total = all.get(locality)?.length ?? list.length;
      // Envoy: effective weight = locality weight × availability (healthy share × 1.4, ≤ 1).
      const availability = Math.min(1, (OVERPROVISIONING / 100) * (list.length / total));
      choosers.push(this.policyChooser(list));
      weights.push((list[0]?.spec.localityWeight ?? 0) * availability);
    }
    return new LocalityChooser(choosers, weights, this.policyChooser(hosts));
  }
}

export class ClusterBalancer {
  private levels: Level[] = [];
  /** Cumulative per-priority load in percent (the last is 100). */
  private cumulative: number[] = [];
  /** The common case: one level takes everything and is not in panic. */
  private only: Chooser | undefined;

  constructor(
    private readonly cfg: LbConfig,
    private readonly stats: ClusterStats,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Rebuilds from the cluster's hosts (after an EDS update, an ejection or a return). */
  update(hosts: readonly Host[]): void {
    const byPriority: Host[][] = [];
    for (const h of hosts) (byPriority[h.spec.priority] ??= []).push(h);
    this.levels = Array.from(byPriority, (list) => new Level(list ?? [], this.cfg, this.clock));
    this.cumulative = this.computeLoads(this.levels.map((l) => l.health));
    const single =
      this.levels.length === 1 && this.levels[0] && !this.levels[0].panic
        ? this.levels[0]
        : undefined;
    this.only = single ? single.chooser(false) : undefined;
  }

  /** Envoy's priority load: health-proportional, with panic and total-panic handling. */
  private computeLoads(health: readonly number[]): number[] {
    const levels = this.levels;
    const threshold = this.cfg.healthyPanicThreshold;
    const totalHealth = Math.min(
      100,
      health.reduce((a, b) => a + b, 0),
    );
    const loads = levels.map(() => 0);
    if (levels.length === 0) return [];
    if (threshold === 0 && totalHealth === 0) {
      for (const l of levels) l.panic = false;
      loads[0] = 100;
      return cumulate(loads);
    }
    for (const l of levels) l.panic = totalHealth === 0 || l.inPanic(threshold);
    if (levels.every((l) => l.panic)) {
      // Total panic: load follows the number of hosts, healthy or not.
      const total = levels.reduce((s, l) => s + l.hosts.length, 0);
      if (total === 0) {
        loads[0] = 100;
        return cumulate(loads);
      }
      let left = 100;
      let first = -1;
      levels.forEach((l, i) => {
        if (first < 0 && l.hosts.length) first = i;
        loads[i] = Math.floor((100 * l.hosts.length) / total);
        left -= loads[i]!;
      });
      loads[first] = loads[first]! + left;
      return cumulate(loads);
    }
    let left = 100;
    let first = -1;
    health.forEach((h, i) => {
      if (first < 0 && h > 0) first = i;
      loads[i] = Math.min(left, Math.floor((h * 100) / totalHealth));
      left -= loads[i]!;
    });
    if (first >= 0) loads[first] = loads[first]! + left;
    return cumulate(loads);
  }

  pick(ctx: PickContext): Host | undefined {
    if (this.only && !ctx.excludedPriorities?.size) return this.only.pick(ctx);
    if (this.levels.length === 0) return undefined;
    let cumulative = this.cumulative;
    if (ctx.excludedPriorities?.size) {
      const health = this.levels.map((l, i) => (ctx.excludedPriorities!.has(i) ? 0 : l.health));
      // Every priority tried: Envoy's previous_priorities starts over with all of them.
      if (health.some((h) => h > 0)) cumulative = this.computeLoadsReadOnly(health);
    }
    const r = ctx.hash !== undefined ? Number(ctx.hash % 100n) : Math.floor(Math.random() * 100);
    let p = cumulative.findIndex((c) => r < c);
    if (p < 0) p = this.levels.length - 1;
    const level = this.levels[p];
    if (!level) return undefined;
    if (level.panic) {
      this.stats.lb_healthy_panic++;
      return level.chooser(true).pick(ctx);
    }
    if (level.healthy.length === 0) return undefined;
    return level.chooser(false).pick(ctx);
  }

  /** Loads for a health vector without touching the levels' panic flags. */
  private computeLoadsReadOnly(health: readonly number[]): number[] {
    const flags = this.levels.map((l) => l.panic);
    const out = this.computeLoads(health);
    this.levels.forEach((l, i) => (l.panic = flags[i]!));
    return out;
  }

  /** Per-priority load in percent, for the admin page and tests. */
  priorityLoads(): number[] {
    return this.cumulative.map((c, i) => c - (i ? this.cumulative[i - 1]! : 0));
  }

  /** Whether a priority level is in panic (all its hosts are used). */
  inPanic(priority: number): boolean {
    return this.levels[priority]?.panic ?? false;
  }
}

function cumulate(loads: readonly number[]): number[] {
  let sum = 0;
  return loads.map((l) => (sum += l));
}
