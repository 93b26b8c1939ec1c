// The proxy's ADS client (state of the world): subscribes, hands each type's complete set to the
// proxy, ACKs what it applied and NACKs what it could not, and reconnects forever.
//
// Protocol notes (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol):
// - Listener and Cluster start as wildcard subscriptions; the proxy names the RouteConfigurations
//   and ClusterLoadAssignments it learns about with subscribe().
// - The node goes with the first request of each stream only ("Basic Protocol Overview").
// - Every response is ACKed (version_info = the response's version) or NACKed (error_detail set,
//   version_info = the last version applied), with response_nonce = that response's nonce.
//   Responses are handled one at a time, in order; the ACK goes only once the proxy applied it.
// - A subscription change carries the nonce of the last response handled: while another is still
//   being applied that nonce is stale and the server ignores the request, and the ACK that
//   follows carries the new names ("Resource updates").
// - A new stream re-sends every subscription with the last applied version and no nonce (nonces
//   do not survive streams). Meanwhile the proxy keeps serving what it has: no callback is made.
// - Make before break at start-up, as Envoy initializes: on each stream, Listener and
//   RouteConfiguration requests wait until the clusters are in (the first CDS response handled,
//   then the first EDS response if the proxy named clusters meanwhile), or until
//   initialFetchTimeoutMs. So the proxy gets CDS, EDS, LDS, RDS in that order, and a listener never
//   routes to a cluster it does not have yet. The proxy names EDS/RDS resources from inside
//   onResources (subscribe() there), before the response is ACKed.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { NACK_CODE, adsServiceDefinition } from '../../xds/ads-service.js';
import type { AdsClient, DiscoveryRequest, DiscoveryResponse } from '../../xds/ads-service.js';
import type { EnvoyNode } from '../../xds/node.js';
import { PUSH_ORDER, TypeUrl, WILDCARD_TYPES } from '../../xds/types.js';
import { Backoff, DEFAULT_BACKOFF } from './backoff.js';
import { decodeResources, nextResourceSet, sameContent } from './resource-set.js';
import type { Json, Received } from './resource-set.js';
import { XdsUpdateStats } from './update-stats.js';

export interface XdsClientOptions {
  /** host:port of the control plane. */
  address: string;
  /** From toEnvoyNode (src/xds/node.ts). */
  node: EnvoyNode;
  /** Insecure by default; a function is asked at each connection (a renewed client cert). */
  credentials?: grpc.ChannelCredentials | (() => grpc.ChannelCredentials);
  /** Added to the channel's options (e.g. the TLS name the control plane is checked for). */
  channelOptions?: grpc.ChannelOptions;
  /**
   * The full state-of-the-world set of one type. Throw (or reject) to NACK with the error's
   * message; the client then keeps its last accepted version. Called for a type's first response,
   * then only when the set differs from the last accepted one (a reconnection that brings the
   * same resources back is ACKed without a call).
   */
  onResources(
    typeUrl: string,
    resources: ReadonlyMap<string, Record<string, unknown>>,
    version: string,
  ): void | Promise<void>;
  /** Reconnection delays, jittered and doubling; 500ms .. 15s by default. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * How long listeners wait on a new stream for the clusters' first CDS/EDS responses before
   * they are requested anyway (Envoy's initial_fetch_timeout); 15s by default.
   */
  initialFetchTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface XdsClientStatus {
  connected: boolean;
  types: Record<string, { version: string; nonce: string; lastError?: string }>;
}

interface TypeSubscription {
  names: '*' | readonly string[];
  /** The last version the proxy accepted. */
  version: string;
  /** The last accepted set (named types merge responses into it); undefined before any. */
  resources: ReadonlyMap<string, Received> | undefined;
  lastError: string | undefined;
  /** The nonce of the last response handled on the current stream. */
  nonce: string;
  /** A request for this type went out on the current stream. */
  requested: boolean;
  /** A named (or "*") request went out on the current stream: an empty list now unsubscribes. */
  explicit: boolean;
}

interface Stream {
  readonly client: AdsClient;
  readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  nodeSent: boolean;
  healthy: boolean;
  /** Listener and RouteConfiguration requests may go out (see the header). */
  clustersReady: boolean;
  cdsHandled: boolean;
  fetchTimer: NodeJS.Timeout | undefined;
}

/** Types requested only once the clusters are in, on each stream. */
const AFTER_CLUSTERS: ReadonlySet<string> = new Set([TypeUrl.Listener, TypeUrl.RouteConfiguration]);
const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

const AdsClientConstructor = grpc.makeGenericClientConstructor(
  adsServiceDefinition,
  'AggregatedDiscoveryService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => AdsClient;

// A full listener set can pass gRPC's 4 MiB default; the control plane is trusted.
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.max_receive_message_length': -1 };

export class XdsClient extends EventEmitter {
  /** Envoy's subscription stats, per type and per named resource (admin /stats). */
  readonly updates = new XdsUpdateStats();
  readonly #opts: XdsClientOptions;
  readonly #log: (line: string) => void;
  readonly #backoff: Backoff;
  readonly #subs = new Map<string, TypeSubscription>();
  #stream: Stream | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();
  #started = false;
  #stopped = false;
  #connected = false;

  constructor(opts: XdsClientOptions) {
    super();
    this.#opts = opts;
    const log = opts.log ?? (() => {});
    this.#log = (line) => {
      try {
        log(line);
      } catch {
        // a failing logger must not take the proxy down
      }
    };
    this.#backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF);
    // Envoy's start: every cluster and every listener of this node; the rest is learnt from them.
    this.#subs.set(TypeUrl.Cluster, newSubscription('*'));
    this.#subs.set(TypeUrl.Listener, newSubscription('*'));
    this.updates.started(TypeUrl.Cluster, []);
    this.updates.started(TypeUrl.Listener, []);
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#connect();
  }

  /** Sets a type's subscription ('*' or names); sent at once if a stream is open. */
  subscribe(typeUrl: string, names: readonly string[] | '*'): void {
    const wanted = names === '*' ? '*' : [...new Set(names)].sort();
    let sub = this.#subs.get(typeUrl);
    if (sub && sameNames(sub.names, wanted)) return;
    const before = sub?.names;
    this.updates.retain(typeUrl, wanted);
    this.updates.started(
      typeUrl,
      wanted === '*'
        ? []
        : wanted.filter((n) => before === undefined || before === '*' || !before.includes(n)),
    );
    if (!sub) {
      sub = newSubscription(wanted);
      this.#subs.set(typeUrl, sub);
    } else {
      sub.names = wanted;
      if (wanted !== '*' && sub.resources) {
        const keep = new Set(wanted);
        sub.resources = new Map([...sub.resources].filter(([name]) => keep.has(name)));
      }
    }
    const stream = this.#stream;
    if (!stream || this.#stopped) return;
    if (!stream.clustersReady && AFTER_CLUSTERS.has(typeUrl)) return; // sent on release
    if (wanted === '*' || wanted.length > 0 || sub.requested) this.#request(stream, typeUrl);
  }

  status(): XdsClientStatus {
    const types: XdsClientStatus['types'] = {};
    for (const [typeUrl, sub] of this.#subs) {
      types[typeUrl] = {
        version: sub.version,
        nonce: sub.nonce,
        ...(sub.lastError !== undefined ? { lastError: sub.lastError } : {}),
      };
    }
    return { connected: this.#connected, types };
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#connected = false;
    if (stream) {
      clearTimeout(stream.fetchTimer);
      stream.call.cancel();
      stream.client.close();
    }
  }

  #connect(): void {
    if (this.#stopped) return;
    let stream: Stream;
    try {
      const given = this.#opts.credentials;
      const credentials =
        typeof given === 'function' ? given() : (given ?? grpc.credentials.createInsecure());
      const client = new AdsClientConstructor(this.#opts.address, credentials, {
        ...CHANNEL_OPTIONS,
        ...this.#opts.channelOptions,
      });
      stream = {
        client,
        call: client.StreamAggregatedResources(),
        nodeSent: false,
        healthy: false,
        clustersReady: false,
        cdsHandled: false,
        fetchTimer: undefined,
      };
    } catch (error) {
      this.#countFailure();
      this.#retry(`cannot open a stream: ${errorText(error)}`);
      return;
    }
    this.#stream = stream;
    stream.call.on('data', (response: DiscoveryResponse) => this.#onResponse(stream, response));
    stream.call.on('error', () => {}); // the 'status' that follows says it all
    stream.call.on('status', (status: grpc.StatusObject) => this.#onEnd(stream, status));
    for (const sub of this.#subs.values()) {
      sub.nonce = '';
      sub.requested = false;
      sub.explicit = false;
    }
    const timeout = this.#opts.initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
    stream.fetchTimer = setTimeout(() => {
      this.#log(`xds: no clusters after ${timeout}ms; requesting listeners anyway`);
      this.#releaseListeners(stream);
    }, timeout);
    this.#requestAll(stream, (typeUrl) => !AFTER_CLUSTERS.has(typeUrl));
  }

  /** Sends the subscriptions of the selected types, in make-before-break order. */
  #requestAll(stream: Stream, select: (typeUrl: string) => boolean): void {
    for (const typeUrl of requestOrder([...this.#subs.keys()])) {
      const sub = this.#subs.get(typeUrl) as TypeSubscription;
      // A named type with no names has nothing to ask for yet.
      if (select(typeUrl) && (sub.names === '*' || sub.names.length > 0)) {
        this.#request(stream, typeUrl);
      }
    }
  }

  /** After a response was handled: are the clusters in, so that listeners can follow? */
  #advance(stream: Stream, typeUrl: string): void {
    if (stream.clustersReady) return;
    if (typeUrl === TypeUrl.Cluster) stream.cdsHandled = true;
    if (!stream.cdsHandled) return;
    const eds = this.#subs.get(TypeUrl.ClusterLoadAssignment);
    const edsNamed = eds !== undefined && (eds.names === '*' || eds.names.length > 0);
    // Named during the CDS response: wait for the EDS response, which comes after it.
    if (edsNamed && typeUrl !== TypeUrl.ClusterLoadAssignment) return;
    this.#releaseListeners(stream);
  }

  #releaseListeners(stream: Stream): void {
    if (stream.clustersReady || stream !== this.#stream) return;
    stream.clustersReady = true;
    clearTimeout(stream.fetchTimer);
    stream.fetchTimer = undefined;
    this.#requestAll(stream, (typeUrl) => AFTER_CLUSTERS.has(typeUrl));
  }

  #request(stream: Stream, typeUrl: string, nack?: string): void {
    const sub = this.#subs.get(typeUrl);
    if (!sub) return;
    let names: string[];
    if (sub.names !== '*') names = [...sub.names];
    // Envoy's wildcard for Listener and Cluster is the legacy empty list, understood by every
    // server; "*" once names were sent on this stream, where an empty list would unsubscribe.
    else names = WILDCARD_TYPES.has(typeUrl) && !sub.explicit ? [] : ['*'];
    const request: DiscoveryRequest = {
      version_info: sub.version,
      resource_names: names,
      type_url: typeUrl,
      response_nonce: sub.nonce,
    };
    if (!stream.nodeSent) request.node = this.#opts.node;
    if (nack !== undefined) request.error_detail = { code: NACK_CODE, message: nack };
    try {
      stream.call.write(request);
      stream.nodeSent = true;
      sub.requested = true;
      if (names.length > 0) sub.explicit = true;
    } catch (error) {
      this.#log(`xds: cannot send a ${typeUrl} request: ${errorText(error)}`);
    }
  }

  #onResponse(stream: Stream, response: DiscoveryResponse): void {
    if (stream !== this.#stream) return;
    if (!stream.healthy) {
      stream.healthy = true;
      this.#backoff.reset();
      this.#connected = true;
      this.#log(`xds: connected to ${this.#opts.address}`);
      this.#emit('connected', undefined);
    }
    this.#queue = this.#queue
      .then(() => this.#handle(stream, response))
      .catch((error: unknown) => this.#log(`xds: ${errorText(error)}`));
  }

  /** Applies one response through onResources, then ACKs or NACKs it. */
  async #handle(stream: Stream, response: DiscoveryResponse): Promise<void> {
    const typeUrl = response.type_url;
    const sub = this.#subs.get(typeUrl);
    if (!sub || this.#stopped) {
      if (!sub) this.#log(`xds: ignoring a response for ${typeUrl}, which is not subscribed`);
      return;
    }
    let decoded: Map<string, Received> | undefined;
    let next: Map<string, Received> | undefined;
    const held = sub.resources;
    let failure: string | undefined;
    let reloaded = false;
    try {
      const previous = sub.resources ?? new Map<string, Received>();
      decoded = decodeResources(response);
      next = nextResourceSet(typeUrl, previous, decoded, sub.names);
      if (!sub.resources || !sameContent(previous, next)) {
        const resources = new Map<string, Json>();
        for (const [name, received] of next) resources.set(name, received.resource);
        await this.#opts.onResources(typeUrl, resources, response.version_info);
        reloaded = true;
      }
    } catch (error) {
      failure = errorText(error) || 'rejected';
    }
    if (this.#stopped) return;
    this.#countUpdate(typeUrl, sub.names, held, decoded, failure, reloaded, response.version_info);
    if (failure === undefined && next) {
      sub.version = response.version_info;
      sub.resources = next;
      sub.lastError = undefined;
    } else {
      sub.lastError = failure;
      this.#log(
        `xds: rejected ${typeUrl} version ${response.version_info}, keeping ${sub.version || '(none)'}: ${failure}`,
      );
    }
    // A response of a stream that has since ended was still applied (or not); it cannot be
    // answered there, and the new stream's requests already carry the version.
    if (stream === this.#stream) {
      sub.nonce = response.nonce;
      this.#request(stream, typeUrl, failure);
      this.#advance(stream, typeUrl);
    }
    if (failure === undefined) {
      this.#emit('ack', { typeUrl, version: response.version_info, nonce: response.nonce });
    } else {
      this.#emit('nack', {
        typeUrl,
        version: response.version_info,
        nonce: response.nonce,
        message: failure,
      });
    }
  }

  /**
   * Envoy's subscription stats for one response: the type's, and each named resource's. A
   * rejected response counts against every name subscribed (Envoy tells every watch of the type);
   * an accepted one against the names it carried, as a config reload where that name's bytes
   * changed.
   */
  #countUpdate(
    typeUrl: string,
    names: '*' | readonly string[],
    held: ReadonlyMap<string, Received> | undefined,
    decoded: ReadonlyMap<string, Received> | undefined,
    failure: string | undefined,
    reloaded: boolean,
    version: string,
  ): void {
    const u = this.updates;
    if (failure !== undefined) {
      u.recordType(typeUrl, 'rejected', version);
      if (names !== '*') for (const name of names) u.recordResource(typeUrl, name, 'rejected');
      return;
    }
    u.recordType(typeUrl, reloaded ? 'reload' : 'success', version);
    if (names === '*' || !decoded) return;
    for (const name of names) {
      const now = decoded.get(name);
      if (!now) continue;
      const before = held?.get(name);
      const same =
        before !== undefined &&
        Buffer.from(before.bytes.buffer, before.bytes.byteOffset, before.bytes.byteLength).equals(
          now.bytes,
        );
      u.recordResource(typeUrl, name, same ? 'success' : 'reload', version);
    }
  }

  /** The stream failed: every subscription learns of it, as Envoy's do (update_failure). */
  #countFailure(): void {
    for (const [typeUrl, sub] of this.#subs) {
      if (sub.names !== '*' && sub.names.length === 0) continue;
      this.updates.recordType(typeUrl, 'failure');
      if (sub.names !== '*')
        for (const name of sub.names) this.updates.recordResource(typeUrl, name, 'failure');
    }
  }

  #onEnd(stream: Stream, status: grpc.StatusObject): void {
    if (stream !== this.#stream) return; // replaced, or stopped
    this.#stream = undefined;
    clearTimeout(stream.fetchTimer);
    stream.client.close();
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#countFailure();
    if (wasConnected) this.#emit('disconnected', { code: status.code, details: status.details });
    this.#retry(`stream ended: ${grpc.status[status.code] ?? status.code}: ${status.details}`);
  }

  #retry(why: string): void {
    if (this.#stopped) return;
    const delay = this.#backoff.next();
    this.#log(`xds: ${this.#opts.address}: ${why}; reconnecting in ${delay}ms`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay);
  }

  #emit(event: string, payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (error) {
      this.#log(`xds: a '${event}' listener threw: ${errorText(error)}`);
    }
  }
}

function newSubscription(names: '*' | readonly string[]): TypeSubscription {
  return {
    names,
    version: '',
    resources: undefined,
    lastError: undefined,
    nonce: '',
    requested: false,
    explicit: false,
  };
}

function sameNames(a: '*' | readonly string[], b: '*' | readonly string[]): boolean {
  if (a === '*' || b === '*') return a === b;
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

/** Requests go out in make-before-break order too: CDS, EDS, LDS, RDS, SDS, then the rest. */
function requestOrder(types: string[]): string[] {
  const known = PUSH_ORDER.filter((t) => types.includes(t));
  return [...known, ...types.filter((t) => !(PUSH_ORDER as readonly string[]).includes(t))];
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
