// Counters and gauges an HTTP filter keeps under Envoy's names (`<stat_prefix>.fault.*`,
// `<stat_prefix>.cors.*`). They live in a map the connection manager hands over from its
// listener, so they survive config updates as the listener does; admin /stats prints them as
// `http.<name>`.

export class FilterStats {
  private map: Map<string, number> = new Map();

  constructor(private readonly prefix: string) {}

  /** Moves the counters into the listener's map (keeping what was counted before). */
  attach(map: Map<string, number>): void {
    if (map === this.map) return;
    for (const [k, v] of this.map) map.set(k, (map.get(k) ?? 0) + v);
    this.map = map;
  }

  add(name: string, delta = 1): void {
    const key = this.prefix + name;
    this.map.set(key, (this.map.get(key) ?? 0) + delta);
  }

  get(name: string): number {
    return this.map.get(this.prefix + name) ?? 0;
  }
}

/** What a filter factory gets besides its typed config. */
export interface FilterContext {
  /** The filter's name in http_filters: per-route configs are keyed by it. */
  readonly name: string;
  /** The connection manager's stat_prefix. */
  readonly statPrefix: string;
  /** The connection manager's xff_num_trusted_hops (rbac's remote_ip); 0 when unset. */
  readonly xffNumTrustedHops?: number;
}
