// The ADS server (state of the world): one stream per proxy, responses taken from the proxy's
// last consistent snapshot, pushes of only what changed, in make-before-break order.
//
// It knows nothing of how configuration is made: a SnapshotSource hands it one Snapshot per
// proxy. Per request, the rules are in should-respond.ts; per stream, the memory is in
// stream-state.ts. Unlike go-control-plane, a NACKed content is never sent again on that stream:
// the proxy keeps its last good version until a different content exists.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../xds/ads-service.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../xds/ads-service.js';
import type { ProxyNode } from '../../xds/node.js';
import { SHORT_NAME } from '../../xds/types.js';
import type { TypeUrl } from '../../xds/types.js';
import { decideRequest } from './should-respond.js';
import type { Snapshot } from './snapshot.js';
import { StreamState, responseContent } from './stream-state.js';

export interface SnapshotSource {
  /** The proxy's current snapshot; throws to refuse the proxy (the stream ends with the error). */
  snapshotFor(node: ProxyNode): Snapshot;
}

export interface TypeStatus {
  sentVersion: string;
  sentNonce: string;
  ackedVersion: string;
  sentAt?: string;
  ackedAt?: string;
  nack?: { version: string; nonce: string; message: string; at: string };
}

export interface ProxyStatus {
  id: string;
  node: ProxyNode;
  connectedAt: string;
  streamId: number;
  types: Record<string, TypeStatus>;
}

/**
 * True when the proxy has answered everything it was sent: each type ACKed at the version sent,
 * or NACKed (it keeps its last good config, and nothing newer exists to send).
 */
export function settled(proxy: ProxyStatus): boolean {
  return Object.values(proxy.types).every(
    (t) => t.ackedVersion === t.sentVersion || t.nack?.version === t.sentVersion,
  );
}

/** Payloads of the events the server emits (for tests, metrics and logs). */
export interface AdsEvents {
  /** Every request as received, before any rule applies (proxyId as the request claims it). */
  request: { proxyId: string; streamId: number; request: DiscoveryRequest };
  connect: { proxyId: string; streamId: number };
  disconnect: { proxyId: string; streamId: number };
  push: {
    proxyId: string;
    streamId: number;
    typeUrl: string;
    version: string;
    nonce: string;
    resources: number;
    reason: string;
  };
  ack: { proxyId: string; streamId: number; typeUrl: string; version: string; nonce: string };
  nack: {
    proxyId: string;
    streamId: number;
    typeUrl: string;
    version: string;
    nonce: string;
    message: string;
  };
  ignore: { proxyId: string; streamId: number; typeUrl: string; nonce: string; reason: string };
}

type Call = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class AdsServer extends EventEmitter {
  readonly #source: SnapshotSource;
  readonly #log: (line: string) => void;
  readonly #streams = new Set<StreamState>();
  #nextStreamId = 0;
  #closed = false;

  constructor(opts: { source: SnapshotSource; log?: (line: string) => void }) {
    super();
    this.#source = opts.source;
    this.#log = opts.log ?? (() => {});
  }

  register(server: grpc.Server): void {
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: Call) => this.#open(call),
    });
  }

  /**
   * Recomputes every connected proxy's snapshot and sends, type by type in CDS→EDS→LDS→RDS
   * order, what changed for its subscriptions. A proxy whose snapshot is unchanged gets nothing.
   */
  push(reason = 'push'): void {
    for (const stream of this.#streams) {
      if (stream.node && !stream.closed) this.#refresh(stream, reason);
    }
  }

  status(): ProxyStatus[] {
    const out: ProxyStatus[] = [];
    for (const stream of this.#streams) {
      if (!stream.node) continue;
      const types: Record<string, TypeStatus> = {};
      for (const [typeUrl, t] of stream.types) {
        types[typeUrl] = {
          sentVersion: t.sentVersion,
          sentNonce: t.sentNonce,
          ackedVersion: t.ackedVersion,
          ...(t.sentAt ? { sentAt: t.sentAt } : {}),
          ...(t.ackedAt ? { ackedAt: t.ackedAt } : {}),
          ...(t.nack ? { nack: { ...t.nack } } : {}),
        };
      }
      out.push({
        id: stream.node.id,
        node: stream.node,
        connectedAt: stream.connectedAt,
        streamId: stream.id,
        types,
      });
    }
    return out;
  }

  /** Ends every stream with UNAVAILABLE and refuses new ones (clients reconnect elsewhere or later). */
  close(): void {
    this.#closed = true;
    for (const stream of [...this.#streams]) {
      this.#end(stream, grpc.status.UNAVAILABLE, 'the control plane is shutting down');
    }
  }

  #open(call: Call): void {
    const stream = new StreamState(++this.#nextStreamId, call);
    if (this.#closed) {
      call.emit('error', {
        code: grpc.status.UNAVAILABLE,
        details: 'the control plane is shutting down',
      });
      return;
    }
    this.#streams.add(stream);
    call.on('data', (request: DiscoveryRequest) => this.#onRequest(stream, request));
    // The client half-closed: finish our side too, which ends the call with OK.
    call.on('end', () => this.#end(stream));
    call.on('error', (error: Error) => {
      if (!stream.closed) this.#log(`ads: stream ${stream.id}: ${error.message}`);
      this.#forget(stream);
    });
    for (const event of ['cancelled', 'close', 'finish'])
      call.on(event, () => this.#forget(stream));
  }

  #onRequest(stream: StreamState, request: DiscoveryRequest): void {
    if (stream.closed) return;
    try {
      this.#apply(stream, request);
    } catch (error) {
      // A bug here must cost one stream, never the control plane.
      this.#log(
        `ads: stream ${stream.id}: ${error instanceof Error ? error.stack : String(error)}`,
      );
      this.#end(stream, grpc.status.INTERNAL, 'the control plane failed on this request');
    }
  }

  #apply(stream: StreamState, request: DiscoveryRequest): void {
    const typeUrl = request.type_url;
    const claimed = stream.node?.id ?? request.node?.id ?? ''; // not yet checked on a first request
    this.#emit('request', { proxyId: claimed, streamId: stream.id, request });
    const decision = decideRequest({ node: stream.node, type: stream.types.get(typeUrl) }, request);
    if (decision.action === 'refuse') {
      this.#log(`ads: stream ${stream.id}: refused: ${decision.message}`);
      this.#end(stream, decision.code, decision.message);
      return;
    }
    if (decision.node && !this.#start(stream, decision.node)) return;
    const proxyId = stream.node?.id ?? '';
    const nonce = request.response_nonce;
    if (decision.action === 'ignore') {
      this.#emit('ignore', {
        proxyId,
        streamId: stream.id,
        typeUrl,
        nonce,
        reason: decision.reason,
      });
      return;
    }
    const state = stream.typeState(typeUrl);
    state.subscription = decision.subscription;
    const now = new Date().toISOString();
    if (decision.kind === 'nack') {
      const message = request.error_detail?.message ?? '';
      state.nack = { version: state.sentVersion, nonce, message, at: now };
      if (state.sentKey !== undefined) state.reject(state.sentKey);
      this.#log(
        `ads: ${proxyId} rejected ${short(typeUrl)} version ${state.sentVersion} (nonce ${nonce}), ` +
          `keeps ${request.version_info || '(none)'}: ${message}`,
      );
      this.#emit('nack', {
        proxyId,
        streamId: stream.id,
        typeUrl,
        version: state.sentVersion,
        nonce,
        message,
      });
    } else if (decision.kind === 'ack' || request.version_info) {
      // An ACK, or a new stream's first request naming the version the client runs.
      state.ackedVersion = request.version_info;
      state.ackedAt = now;
      if (decision.kind === 'ack' && request.version_info === state.sentVersion) {
        state.nack = undefined; // the rejection is history once a later response is applied
      }
      if (decision.kind === 'ack') {
        this.#emit('ack', {
          proxyId,
          streamId: stream.id,
          typeUrl,
          version: request.version_info,
          nonce,
        });
      }
    }
    if (decision.respond) this.#send(stream, typeUrl, 'request', true);
  }

  /** The stream's first request: fetch the proxy's snapshot, or refuse the proxy. */
  #start(stream: StreamState, node: ProxyNode): boolean {
    let snapshot: Snapshot;
    try {
      snapshot = this.#source.snapshotFor(node);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = grpcCodeOf(error) ?? grpc.status.FAILED_PRECONDITION;
      this.#log(`ads: refused ${node.id}: ${message}`);
      this.#end(stream, code, message);
      return false;
    }
    stream.node = node;
    this.#log(`ads: ${node.id} connected (stream ${stream.id})`);
    this.#emit('connect', { proxyId: node.id, streamId: stream.id });
    this.#adopt(stream, snapshot);
    return true;
  }

  /** Takes a snapshot for the stream if it is consistent; otherwise keeps the last one sent. */
  #adopt(stream: StreamState, snapshot: Snapshot): boolean {
    if (snapshot === stream.snapshot) return false;
    const errors = snapshot.consistencyErrors();
    if (errors.length > 0) {
      this.#log(
        `ads: ${stream.node?.id}: snapshot not sent, inconsistent (${errors.length} errors): ` +
          errors.slice(0, 5).join('; '),
      );
      return false;
    }
    stream.snapshot = snapshot;
    return true;
  }

  #refresh(stream: StreamState, reason: string): void {
    let snapshot: Snapshot;
    try {
      snapshot = this.#source.snapshotFor(stream.node as ProxyNode);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#log(`ads: ${stream.node?.id}: no snapshot (${message}), keeping the last one sent`);
      return;
    }
    if (!this.#adopt(stream, snapshot)) return;
    for (const typeUrl of stream.subscribedTypes()) this.#send(stream, typeUrl, reason, false);
  }

  /**
   * Sends the subscription's current resources unless (without `force`) the proxy already has
   * this content, or the proxy rejected this very content before on this stream. A type with no
   * subscription, or a stream with no consistent snapshot yet, gets nothing.
   */
  #send(stream: StreamState, typeUrl: string, reason: string, force: boolean): void {
    const state = stream.types.get(typeUrl);
    if (!stream.snapshot || !state?.subscription || stream.closed) return;
    const content = responseContent(stream.snapshot, typeUrl, state.subscription);
    if (!force && content.key === state.sentKey) return;
    if (state.wasRejected(content.key)) return;
    const nonce = stream.nextNonce();
    stream.call.write({
      version_info: content.version,
      resources: content.resources,
      type_url: typeUrl,
      nonce,
    });
    state.sentVersion = content.version;
    state.sentNonce = nonce;
    state.sentKey = content.key;
    state.sentAt = new Date().toISOString();
    this.#emit('push', {
      proxyId: stream.node?.id ?? '',
      streamId: stream.id,
      typeUrl,
      version: content.version,
      nonce,
      resources: content.resources.length,
      reason,
    });
  }

  /** Ends the call with a status (OK when none is given) and forgets the stream. */
  #end(stream: StreamState, code?: grpc.status, message?: string): void {
    if (stream.closed) return;
    this.#forget(stream);
    try {
      if (code === undefined || code === grpc.status.OK) stream.call.end();
      else stream.call.emit('error', { code, details: message ?? '', message: message ?? '' });
    } catch (error) {
      this.#log(`ads: stream ${stream.id}: ending: ${String(error)}`);
    }
  }

  #forget(stream: StreamState): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#streams.delete(stream);
    if (stream.node) {
      this.#log(`ads: ${stream.node.id} disconnected (stream ${stream.id})`);
      this.#emit('disconnect', { proxyId: stream.node.id, streamId: stream.id });
    }
  }

  #emit<K extends keyof AdsEvents>(event: K, payload: AdsEvents[K]): void {
    if (this.listenerCount(event) === 0) return;
    try {
      this.emit(event, payload);
    } catch (error) {
      this.#log(`ads: a '${event}' listener threw: ${String(error)}`);
    }
  }
}

function short(typeUrl: string): string {
  return SHORT_NAME[typeUrl as TypeUrl] ?? typeUrl;
}

function grpcCodeOf(error: unknown): grpc.status | undefined {
  const code = (error as { grpcCode?: unknown } | null)?.grpcCode;
  return typeof code === 'number' && Number.isInteger(code) ? (code as grpc.status) : undefined;
}
