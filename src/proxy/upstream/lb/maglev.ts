// Envoy's Maglev load balancer (maglev_lb.cc, after Google's Maglev paper): a lookup table of
// prime size filled by each host's permutation (offset and skip from xxHash64 of its address,
// seeds 0 and 1) in proportion to its weight; a request's hash indexes the table.
import type { Host } from '../host.js';
import type { WeightedHost } from './ring-hash.js';
import { xxHash64 } from './xxhash64.js';

interface BuildEntry {
  readonly host: Host;
  readonly offset: number;
  readonly skip: number;
  readonly weight: number;
  target: number;
  next: number;
}

export class Maglev {
  private readonly table: (Host | undefined)[];

  constructor(
    hosts: readonly WeightedHost[],
    private readonly size: number,
  ) {
    const live = hosts.filter((h) => h.weight > 0);
    const total = live.reduce((s, h) => s + h.weight, 0);
    const m = BigInt(size);
    const entries: BuildEntry[] = live.map(({ host, weight }) => ({
      host,
      offset: Number(xxHash64(host.key) % m),
      skip: Number(xxHash64(host.key, 1n) % (m - 1n)) + 1,
      weight: weight / total,
      target: 0,
      next: 0,
    }));
    this.table = new Array<Host | undefined>(size);
    if (entries.length === 0) return;
    const maxWeight = Math.max(...entries.map((e) => e.weight));
    let filled = 0;
    for (let iteration = 1; filled < size; iteration++) {
      for (const e of entries) {
        if (filled >= size) break;
        // A host of the largest weight takes a slot every iteration, one of a third of it
        // every third iteration.
        if (iteration * e.weight < e.target) continue;
        e.target += maxWeight;
        let c = (e.offset + e.skip * e.next) % size;
        while (this.table[c] !== undefined) {
          e.next++;
          c = (e.offset + e.skip * e.next) % size;
        }
        this.table[c] = e.host;
        e.next++;
        filled++;
      }
    }
  }

  /** The host for `hash`; with `exclude` (retries), the next slot holding another host. */
  pick(hash: bigint, exclude?: ReadonlySet<Host>): Host | undefined {
    const start = Number(hash % BigInt(this.size));
    const first = this.table[start];
    if (!exclude?.size || !first || !exclude.has(first)) return first;
    for (let i = 1; i < this.size; i++) {
      const h = this.table[(start + i) % this.size];
      if (h && !exclude.has(h)) return h;
    }
    return first;
  }
}
