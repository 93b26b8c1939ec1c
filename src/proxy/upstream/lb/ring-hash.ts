// Envoy's ring hash (Ketama-style consistent hashing, ring_hash_lb.cc): every host gets
// entries `address_i` hashed with xxHash64 in proportion to its weight; a request's hash picks
// the first entry at or after it on the ring. Removing a host moves only the keys it held.
import type { Host } from '../host.js';
import { xxHash64 } from './xxhash64.js';

export interface WeightedHost {
  readonly host: Host;
  readonly weight: number;
}

export class RingHash {
  private readonly hashes: BigUint64Array;
  private readonly owners: Host[];

  constructor(hosts: readonly WeightedHost[], minRingSize: number, maxRingSize: number) {
    const total = hosts.reduce((s, h) => s + h.weight, 0);
    const normalized = hosts
      .filter((h) => h.weight > 0)
      .map((h) => ({ host: h.host, w: h.weight / total }));
    const minWeight = Math.min(...normalized.map((h) => h.w));
    // Scale so that the lightest host gets a whole number of entries, within the size bounds.
    const scale = normalized.length
      ? Math.min(Math.ceil(minWeight * minRingSize) / minWeight, maxRingSize)
      : 0;
    const entries: { hash: bigint; host: Host }[] = [];
    let current = 0;
    let target = 0;
    for (const { host, w } of normalized) {
      // Running sums keep the ring stable when the weights are not whole numbers.
      target += scale * w;
      for (let i = 0; current < target; i++, current++)
        entries.push({ hash: xxHash64(`${host.key}_${i}`), host });
    }
    entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    this.hashes = new BigUint64Array(entries.map((e) => e.hash));
    this.owners = entries.map((e) => e.host);
  }

  get size(): number {
    return this.owners.length;
  }

  /**
   * The host owning `hash`; with `exclude` (retries), the next distinct host along the ring,
   * as Envoy's ring walks forward on each host-selection attempt.
   */
  pick(hash: bigint, exclude?: ReadonlySet<Host>): Host | undefined {
    const n = this.owners.length;
    if (n === 0) return undefined;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    const start = lo === n ? 0 : lo;
    const first = this.owners[start];
    if (!exclude?.size || !first || !exclude.has(first)) return first;
    for (let i = 1; i < n; i++) {
      const h = this.owners[(start + i) % n];
      if (h && !exclude.has(h)) return h;
    }
    return first;
  }
}
