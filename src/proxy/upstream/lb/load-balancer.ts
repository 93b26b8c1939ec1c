// The load balancer interface and Envoy's simple policies: round robin (weighted, smooth),
// random, and least request (power of two choices).
import type { LbPolicy } from '../cluster-config.js';
import type { Host } from '../host.js';

export interface LoadBalancer {
  /** Picks a host not in `exclude` (previous attempts), or undefined when none is left. */
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

/** Envoy's LEAST_REQUEST with choice_count 2: the less busy of two random hosts. */
export class LeastRequest implements LoadBalancer {
  constructor(private readonly hosts: readonly Host[]) {}

  pick(exclude?: ReadonlySet<Host>): Host | undefined {
    const c = candidates(this.hosts, exclude);
    if (c.length <= 1) return c[0];
    const a = c[Math.floor(Math.random() * c.length)];
    let b = c[Math.floor(Math.random() * c.length)];
    if (b === a) b = c[(c.indexOf(a as Host) + 1) % c.length];
    if (!a || !b) return a ?? b;
    return b.activeRequests < a.activeRequests ? b : a;
  }
}

export function makeLoadBalancer(policy: LbPolicy, hosts: readonly Host[]): LoadBalancer {
  switch (policy) {
    case 'RANDOM':
      return new RandomLb(hosts);
    case 'LEAST_REQUEST':
      return new LeastRequest(hosts);
    default:
      return new RoundRobin(hosts);
  }
}
