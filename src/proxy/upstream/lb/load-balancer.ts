// Envoy's per-host-list policies: round robin (weighted, smooth), random, least request (power
// of two choices; weighted by weight / (active + 1)^bias when weights differ), and slow start
// (a newly added host's weight ramps up over a window).
import type { LbPolicy, SlowStartConfig } from '../cluster-config.js';
import type { Host } from '../host.js';

export interface LoadBalancer {
  /** Picks a host not in `exclude` (previous attempts), or undefined when there is none. */
  pick(exclude?: ReadonlySet<Host>): Host | undefined;
}

function candidates(hosts: readonly Host[], exclude?: ReadonlySet<Host>): readonly Host[] {
  if (!exclude || exclude.size === 0) return hosts;
  const left = hosts.filter((h) => !exclude.has(h));
  // Envoy's previous_hosts predicate gives up after a few attempts and reuses a host.
  return left.length ? left : hosts;
}

/** Smooth weighted round robin (nginx's): equal weights give plain rotation. */
export class RoundRobin implements LoadBalancer {
  private next = 0;
  private readonly current: number[];
  private readonly uniform: boolean;

  constructor(private readonly hosts: readonly Host[]) {
    this.current = hosts.map(() => 0);
    this.uniform = hosts.every((h) => h.spec.weight === hosts[0]?.spec.weight);
    // Start at a random host so that many proxies do not move in lockstep.
    this.next = hosts.length ? Math.floor(Math.random() * hosts.length) : 0;
  }

  pick(exclude?: ReadonlySet<Host>): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    if (this.uniform || (exclude && exclude.size)) {
      for (let i = 0; i < n; i++) {
        const h = this.hosts[(this.next + i) % n];
        if (h && !exclude?.has(h)) {
          this.next = (this.next + i + 1) % n;
          return h;
        }
      }
      return this.hosts[this.next++ % n];
    }
    let total = 0;
    let best = 0;
    for (let i = 0; i < n; i++) {
      const w = this.hosts[i]?.spec.weight ?? 1;
      this.current[i] = (this.current[i] ?? 0) + w;
      total += w;
      if ((this.current[i] ?? 0) > (this.current[best] ?? 0)) best = i;
    }
    this.current[best] = (this.current[best] ?? 0) - total;
    return this.hosts[best];
  }
}

export class RandomLb implements LoadBalancer {
  constructor(private readonly hosts: readonly Host[]) {}

  pick(exclude?: ReadonlySet<Host>): Host | undefined {
    const c = candidates(this.hosts, exclude);
    return c[Math.floor(Math.random() * c.length)];
  }
}

/** A weighted random pick over `hosts` with `weight(h)`; undefined when all weigh nothing. */
export function weightedRandom(
  hosts: readonly Host[],
  weight: (h: Host) => number,
): Host | undefined {
  let total = 0;
  for (const h of hosts) total += weight(h);
  if (!(total > 0)) return hosts[Math.floor(Math.random() * hosts.length)];
  let r = Math.random() * total;
  for (const h of hosts) {
    r -= weight(h);
    if (r < 0) return h;
  }
  return hosts[hosts.length - 1];
}

/**
 * Envoy's LEAST_REQUEST: with equal weights, the least busy of `choiceCount` random hosts
 * (power of two choices); with unequal weights, weight / (active + 1)^bias.
 */
export class LeastRequest implements LoadBalancer {
  private readonly uniform: boolean;

  constructor(
    private readonly hosts: readonly Host[],
    private readonly choiceCount = 2,
    private readonly bias = 1,
  ) {
    this.uniform = hosts.every((h) => h.spec.weight === hosts[0]?.spec.weight);
  }

  pick(exclude?: ReadonlySet<Host>): Host | undefined {
    const c = candidates(this.hosts, exclude);
    if (c.length <= 1) return c[0];
    if (!this.uniform) {
      const bias = this.bias;
      return weightedRandom(c, (h) =>
        bias === 0 ? h.spec.weight : h.spec.weight / (h.activeRequests + 1) ** bias,
      );
    }
    // Distinct samples (the first choice is kept on ties), so that with two hosts the idle one
    // always wins.
    const n = c.length;
    const first = Math.floor(Math.random() * n);
    let best = c[first]!;
    const k = Math.min(this.choiceCount, n);
    for (let i = 1; i < k; i++) {
      const offset = 1 + Math.floor(Math.random() * (n - 1));
      const h = c[(first + offset) % n]!;
      if (h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }
}

/**
 * Envoy's slow start factor for a host: max(min_weight_percent, (t / window)^(1/aggression))
 * while t, the time since it was added, is inside the window; 1 after.
 */
export function slowStartFactor(h: Host, cfg: SlowStartConfig, now: number): number {
  if (!h.slowStartEligible) return 1;
  const t = now - h.addedAt;
  if (t >= cfg.windowMs) return 1;
  const timeFactor = Math.max(1, t) / cfg.windowMs;
  const ramp = cfg.aggression === 1 ? timeFactor : timeFactor ** (1 / cfg.aggression);
  return Math.max(ramp, cfg.minWeightPercent / 100);
}

/**
 * Round robin or least request with slow start: while a host of the list is warming up, picks
 * are weighted by weight × factor (÷ (active + 1)^bias for least request); once every host is
 * out of its window, the plain policy takes over (one clock read per pick until then).
 */
export class SlowStart implements LoadBalancer {
  private readonly until: number;

  constructor(
    private readonly hosts: readonly Host[],
    private readonly inner: LoadBalancer,
    private readonly cfg: SlowStartConfig,
    private readonly leastRequestBias: number | undefined,
    private readonly clock: () => number = () => performance.now(),
  ) {
    let until = 0;
    for (const h of hosts)
      if (h.slowStartEligible) until = Math.max(until, h.addedAt + cfg.windowMs);
    this.until = until;
  }

  pick(exclude?: ReadonlySet<Host>): Host | undefined {
    if (this.until === 0) return this.inner.pick(exclude);
    const now = this.clock();
    if (now >= this.until) return this.inner.pick(exclude);
    const c = candidates(this.hosts, exclude);
    const bias = this.leastRequestBias;
    return weightedRandom(c, (h) => {
      const w = h.spec.weight * slowStartFactor(h, this.cfg, now);
      return bias === undefined || bias === 0 ? w : w / (h.activeRequests + 1) ** bias;
    });
  }
}

export interface PolicyOptions {
  readonly choiceCount?: number;
  readonly activeRequestBias?: number;
  readonly slowStart?: SlowStartConfig | undefined;
  readonly clock?: () => number;
}

/** The picker for one list of hosts (RING_HASH and MAGLEV are built elsewhere: they need a hash). */
export function makeLoadBalancer(
  policy: LbPolicy,
  hosts: readonly Host[],
  opts: PolicyOptions = {},
): LoadBalancer {
  let lb: LoadBalancer;
  switch (policy) {
    case 'RANDOM':
      return new RandomLb(hosts);
    case 'LEAST_REQUEST':
      lb = new LeastRequest(hosts, opts.choiceCount, opts.activeRequestBias);
      break;
    default:
      lb = new RoundRobin(hosts);
  }
  if (!opts.slowStart) return lb;
  const bias = policy === 'LEAST_REQUEST' ? (opts.activeRequestBias ?? 1) : undefined;
  return new SlowStart(hosts, lb, opts.slowStart, bias, opts.clock);
}
