// One proxy's xDS resources at one moment: packed once, versioned by content, immutable.
//
// The version of a type is a hash of its content, so two snapshots with the same resources carry
// the same version and the ADS server can tell "nothing changed" by comparing strings (xDS
// protocol, "When to send an update": resend nothing that did not change).
import { createHash } from 'node:crypto';
import { packAny, unpackAny } from '../../xds/any.js';
import type { AnyMessage } from '../../xds/any.js';
import { resourceNameOf } from '../../xds/ads-service.js';
import type { TypeUrl } from '../../xds/types.js';
import { consistencyErrors } from './consistency.js';

export interface NamedResource {
  readonly name: string;
  /** The resource in Envoy's JSON form (field names as in the proto), packed with packAny. */
  readonly resource: object;
}

/** A snapshot that cannot be built: a generator bug, reported with a stable code. */
export class SnapshotError extends Error {
  readonly code = 'ERR_SNAPSHOT';
}

interface TypeEntry {
  readonly version: string;
  readonly resources: ReadonlyMap<string, AnyMessage>;
  /** sha256 of each resource's bytes (16 hex): what a named subscription's content is keyed by. */
  readonly digests: ReadonlyMap<string, string>;
}

const EMPTY_RESOURCES: ReadonlyMap<string, AnyMessage> = new Map();
const EMPTY_DECODED: ReadonlyMap<string, object> = new Map();

export class Snapshot {
  readonly #types: ReadonlyMap<string, TypeEntry>;
  readonly #errors: readonly string[];
  readonly #decoded = new Map<string, ReadonlyMap<string, object>>();

  private constructor(types: ReadonlyMap<string, TypeEntry>, errors: readonly string[]) {
    this.#types = types;
    this.#errors = errors;
  }

  /**
   * Packs every resource (throws ProtoShapeError for a field the proto lacks) and versions each
   * type by sha256 over its sorted names and bytes. Throws SnapshotError when a name is given
   * twice or does not match the resource's own name.
   */
  static build(byType: Partial<Record<TypeUrl, readonly NamedResource[]>>): Snapshot {
    const types = new Map<string, TypeEntry>();
    const inputs = new Map<string, Map<string, object>>();
    for (const [typeUrl, list] of Object.entries(byType) as [string, readonly NamedResource[]][]) {
      if (!list || list.length === 0) continue;
      const sorted = [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const resources = new Map<string, AnyMessage>();
      const digests = new Map<string, string>();
      const objects = new Map<string, object>();
      const version = createHash('sha256');
      for (const { name, resource } of sorted) {
        if (resources.has(name)) throw new SnapshotError(`${typeUrl}: ${name} is given twice`);
        const own = resourceNameOf(typeUrl, resource as Record<string, unknown>);
        if (own !== name) {
          throw new SnapshotError(`${typeUrl}: ${name} is named ${JSON.stringify(own)} inside`);
        }
        const any = Object.freeze(packAny(typeUrl, resource));
        resources.set(name, any);
        digests.set(name, createHash('sha256').update(any.value).digest('hex').slice(0, 16));
        objects.set(name, resource);
        version.update(name).update('\0').update(any.value).update('\0');
      }
      types.set(typeUrl, {
        version: version.digest('hex').slice(0, 12),
        resources,
        digests,
      });
      inputs.set(typeUrl, objects);
    }
    // Checked now, on the objects given, so that the snapshot keeps no reference to them.
    return new Snapshot(types, Object.freeze(consistencyErrors(inputs)));
  }

  /** The type's content version; '' when the snapshot has no resource of that type. */
  version(type: string): string {
    return this.#types.get(type)?.version ?? '';
  }

  /** The packed resources of a type, sorted by name. */
  resources(type: string): ReadonlyMap<string, AnyMessage> {
    return this.#types.get(type)?.resources ?? EMPTY_RESOURCES;
  }

  /** A short hash of one resource's bytes, or undefined when the snapshot lacks it. */
  digest(type: string, name: string): string | undefined {
    return this.#types.get(type)?.digests.get(name);
  }

  /** Type URLs that have at least one resource. */
  types(): string[] {
    return [...this.#types.keys()];
  }

  /** The resources decoded back to JSON (what the proxy will see), for /debug/config_dump. */
  decoded(type: string): ReadonlyMap<string, object> {
    const cached = this.#decoded.get(type);
    if (cached) return cached;
    const entry = this.#types.get(type);
    if (!entry) return EMPTY_DECODED;
    const out = new Map<string, object>();
    for (const [name, any] of entry.resources) out.set(name, unpackAny(any));
    this.#decoded.set(type, out);
    return out;
  }

  /** Why this snapshot must not be sent (empty when it is consistent). */
  consistencyErrors(): string[] {
    return [...this.#errors];
  }
}
