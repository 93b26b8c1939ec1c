// Envoy's xDS subscription statistics (docs: "Subscription statistics"), kept by the xDS client
// for each type and for each named resource of the named types: update_attempt when a
// subscription starts or changes and for every response handled and every stream failure, then
// update_success (applied or unchanged), update_rejected (NACKed) or update_failure (the stream
// failed); config_reload when an update changed that resource's config; version_text and
// update_time (ms since the epoch) of the last accepted update. The admin endpoint names them
// where Envoy does (admin/xds-stats.ts).

export class UpdateCounters {
  update_attempt = 0;
  update_success = 0;
  update_rejected = 0;
  update_failure = 0;
  config_reload = 0;
  update_time = 0;
  version_text = '';

  /** The counters and gauges, in Envoy's names (as ListenerStats: every numeric field). */
  entries(): [string, number][] {
    return Object.entries(this).filter((e): e is [string, number] => typeof e[1] === 'number');
  }
}

export type UpdateOutcome = 'success' | 'reload' | 'rejected' | 'failure';

export class XdsUpdateStats {
  readonly #types = new Map<string, UpdateCounters>();
  readonly #resources = new Map<string, Map<string, UpdateCounters>>();

  /** A type's counters (made when it is first subscribed). */
  type(typeUrl: string): UpdateCounters | undefined {
    return this.#types.get(typeUrl);
  }

  /** The named resources' counters of a type, by resource name. */
  resources(typeUrl: string): ReadonlyMap<string, UpdateCounters> {
    return this.#resources.get(typeUrl) ?? new Map();
  }

  /**
   * A subscription starts or changes its names: one attempt for the type, and for each newly
   * named resource (Envoy counts an attempt when a subscription starts and when its interest
   * changes). The new names show zeros until their first update.
   */
  started(typeUrl: string, newNames: Iterable<string>): void {
    counter(this.#types, typeUrl).update_attempt++;
    for (const name of newNames) counter(this.#byName(typeUrl), name).update_attempt++;
  }

  /** One update's outcome for the type. `reload` is a success that changed the config. */
  recordType(typeUrl: string, outcome: UpdateOutcome, version = ''): void {
    count(counter(this.#types, typeUrl), outcome, version);
  }

  /** One update's outcome for one named resource of the type. */
  recordResource(typeUrl: string, name: string, outcome: UpdateOutcome, version = ''): void {
    count(counter(this.#byName(typeUrl), name), outcome, version);
  }

  /** Forgets the named resources no longer subscribed (Envoy drops their subscriptions). */
  retain(typeUrl: string, names: '*' | readonly string[]): void {
    const byName = this.#resources.get(typeUrl);
    if (!byName) return;
    if (names === '*') {
      byName.clear();
      return;
    }
    const keep = new Set(names);
    for (const name of [...byName.keys()]) if (!keep.has(name)) byName.delete(name);
  }

  #byName(typeUrl: string): Map<string, UpdateCounters> {
    let byName = this.#resources.get(typeUrl);
    if (!byName) {
      byName = new Map();
      this.#resources.set(typeUrl, byName);
    }
    return byName;
  }
}

function counter(map: Map<string, UpdateCounters>, key: string): UpdateCounters {
  let c = map.get(key);
  if (!c) {
    c = new UpdateCounters();
    map.set(key, c);
  }
  return c;
}

function count(c: UpdateCounters, outcome: UpdateOutcome, version: string): void {
  c.update_attempt++;
  switch (outcome) {
    case 'rejected':
      c.update_rejected++;
      return;
    case 'failure':
      c.update_failure++;
      return;
    case 'reload':
      c.config_reload++;
      break;
    case 'success':
      break;
  }
  c.update_success++;
  c.version_text = version;
  c.update_time = Date.now();
}
