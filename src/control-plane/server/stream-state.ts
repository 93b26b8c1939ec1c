// What the ADS server remembers about one stream: per type, the subscription, the last response
// sent (version, nonce, content key), what the proxy ACKed, and what it rejected.
import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { AnyMessage } from '../../xds/any.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../xds/ads-service.js';
import type { ProxyNode } from '../../xds/node.js';
import { PUSH_ORDER, WILDCARD_TYPES } from '../../xds/types.js';
import type { Snapshot } from './snapshot.js';

/**
 * A SotW subscription (xDS protocol, "How the client specifies what resources to return").
 * `wildcard` exists only for Listener and Cluster: the name "*", or (legacy) a client that has
 * never named any resource of the type on this stream.
 */
export interface Subscription {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  /** The client has named a resource (or "*") on this stream: the legacy wildcard is over. */
  readonly explicit: boolean;
}

export function nextSubscription(
  typeUrl: string,
  previous: Subscription | undefined,
  requested: readonly string[],
): Subscription {
  if (!WILDCARD_TYPES.has(typeUrl)) {
    return { wildcard: false, names: new Set(requested), explicit: true };
  }
  const explicit = (previous?.explicit ?? false) || requested.length > 0;
  const names = new Set(requested.filter((n) => n !== '*'));
  return { wildcard: requested.includes('*') || !explicit, names, explicit };
}

export function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a.wildcard !== b.wildcard || a.names.size !== b.names.size) return false;
  for (const name of a.names) if (!b.names.has(name)) return false;
  return true;
}

export interface NackRecord {
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: string;
}

/** How many rejected contents a stream remembers per type, so a long life cannot grow it. */
const REJECTED_MEMORY = 16;

export class TypeState {
  subscription: Subscription | undefined;
  sentVersion = '';
  sentNonce = '';
  /** Identifies the content of the last response, whatever its version string. */
  sentKey: string | undefined;
  sentAt: string | undefined;
  ackedVersion = '';
  ackedAt: string | undefined;
  nack: NackRecord | undefined;
  readonly #rejected: string[] = [];

  reject(key: string): void {
    if (this.#rejected.includes(key)) return;
    this.#rejected.push(key);
    if (this.#rejected.length > REJECTED_MEMORY) this.#rejected.shift();
  }

  wasRejected(key: string): boolean {
    return this.#rejected.includes(key);
  }
}

/** The resources one response carries, and the key of that content. */
export interface ResponseContent {
  readonly version: string;
  readonly resources: AnyMessage[];
  readonly key: string;
}

/**
 * What a subscription gets from a snapshot. Wildcard: every resource of the type, keyed by the
 * type's version (a hash of all of them). Named: the requested resources that exist, keyed by
 * their names and digests, so that a change to a resource this proxy did not ask for sends
 * nothing, and the same content under a newer version is still recognised as already rejected.
 */
export function responseContent(
  snapshot: Snapshot,
  typeUrl: string,
  subscription: Subscription,
): ResponseContent {
  const version = snapshot.version(typeUrl);
  const all = snapshot.resources(typeUrl);
  if (subscription.wildcard) return { version, resources: [...all.values()], key: `*${version}` };
  const names = [...subscription.names].filter((n) => all.has(n)).sort();
  const hash = createHash('sha256');
  const resources: AnyMessage[] = [];
  for (const name of names) {
    resources.push(all.get(name) as AnyMessage);
    hash
      .update(name)
      .update('\0')
      .update(snapshot.digest(typeUrl, name) ?? '')
      .update('\n');
  }
  return { version, resources, key: `=${hash.digest('hex').slice(0, 24)}` };
}

/** One open StreamAggregatedResources call. */
export class StreamState {
  node: ProxyNode | undefined;
  /** The last consistent snapshot: what every response of this stream is taken from. */
  snapshot: Snapshot | undefined;
  readonly types = new Map<string, TypeState>();
  readonly connectedAt = new Date().toISOString();
  closed = false;
  #nonces = 0;

  constructor(
    readonly id: number,
    readonly call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>,
  ) {}

  typeState(typeUrl: string): TypeState {
    let state = this.types.get(typeUrl);
    if (!state) {
      state = new TypeState();
      this.types.set(typeUrl, state);
    }
    return state;
  }

  /** Nonces are unique per stream, which is all the protocol asks ("nonce" in discovery.proto). */
  nextNonce(): string {
    this.#nonces += 1;
    return `${this.id}-${this.#nonces}`;
  }

  /** Subscribed types in make-before-break order: CDS, EDS, LDS, RDS, SDS, then any other. */
  subscribedTypes(): string[] {
    const subscribed = [...this.types].filter(([, s]) => s.subscription).map(([t]) => t);
    const known = PUSH_ORDER.filter((t) => subscribed.includes(t));
    const others = subscribed.filter((t) => !(PUSH_ORDER as readonly string[]).includes(t));
    return [...known, ...others.sort()];
  }
}
