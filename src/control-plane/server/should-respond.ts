// The ADS server's rules for one DiscoveryRequest, in one function: refuse, ignore, or record an
// ACK / NACK / (re)subscription and say whether a response is due. Pure: the server applies it.
// References are to the xDS protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '../../xds/ads-service.js';
import { fromEnvoyNode } from '../../xds/node.js';
import type { EnvoyNode, ProxyNode } from '../../xds/node.js';
import { nextSubscription, sameSubscription } from './stream-state.js';
import type { Subscription } from './stream-state.js';

/** What the stream knows when a request arrives. */
export interface RequestContext {
  /** The proxy, once the stream's first request named it. */
  readonly node: ProxyNode | undefined;
  /** The request's type on this stream, if it was seen before. */
  readonly type:
    { readonly subscription: Subscription | undefined; readonly sentNonce: string } | undefined;
}

export type RequestKind =
  /** No nonce: the type's first request on this stream (or a client starting over). */
  | 'subscribe'
  /** The current nonce, no error_detail: the client applied the response (or only changes names). */
  | 'ack'
  /** The current nonce with error_detail: the client rejected the response. */
  | 'nack';

export type Decision =
  | { readonly action: 'refuse'; readonly code: grpc.status; readonly message: string }
  | { readonly action: 'ignore'; readonly reason: string; readonly node?: ProxyNode }
  | {
      readonly action: 'accept';
      readonly kind: RequestKind;
      /** Set on the stream's first request: who is at the other end. */
      readonly node?: ProxyNode;
      /** The type's subscription from now on. */
      readonly subscription: Subscription;
      /** Send the current resources of this subscription now. */
      readonly respond: boolean;
    };

export function decideRequest(context: RequestContext, request: DiscoveryRequest): Decision {
  // 1. "Only the first request on a stream is guaranteed to carry the node identifier ... It is
  //    sufficient to only check the first message" (Basic Protocol Overview). Without a node we
  //    cannot know which configuration is the proxy's, so the stream is refused.
  let node: ProxyNode | undefined;
  if (!context.node) {
    try {
      node = fromEnvoyNode(request.node as EnvoyNode | undefined);
    } catch (error) {
      return { action: 'refuse', code: grpc.status.INVALID_ARGUMENT, message: errorText(error) };
    }
  }
  const first = node ? { node } : {};

  // 2. ADS multiplexes every type on one stream; only type_url tells them apart
  //    ("Aggregated Discovery Service": type_url is required).
  if (!request.type_url) {
    return {
      action: 'refuse',
      code: grpc.status.INVALID_ARGUMENT,
      message: 'a request on an aggregated stream must carry type_url',
    };
  }

  // 3. Stale nonce: "The management server should not send a DiscoveryResponse for any
  //    DiscoveryRequest that has a stale nonce. A nonce becomes stale following a newer nonce
  //    being presented to Envoy" (Resource updates). Its version and names describe a response
  //    the client had not seen yet, so nothing in it is recorded either: the ACK/NACK of the
  //    newer response follows and carries the client's current names.
  const nonce = request.response_nonce;
  if (nonce && nonce !== (context.type?.sentNonce ?? '')) {
    return { action: 'ignore', reason: `stale nonce ${JSON.stringify(nonce)}`, ...first };
  }

  // 4. Resource names: every SotW request carries the complete list; "*" or (legacy) a type never
  //    named on this stream is a wildcard, for Listener and Cluster only (How the client
  //    specifies what resources to return).
  const previous = context.type?.subscription;
  const subscription = nextSubscription(request.type_url, previous, request.resource_names);
  const namesChanged = previous === undefined || !sameSubscription(previous, subscription);

  // 5. An empty nonce opens (or reopens) the type: always answered, even when the client says
  //    it already has a version, since it may now ask for names it did not have before
  //    (ACK/NACK and resource type instance version).
  if (!nonce) return { action: 'accept', kind: 'subscribe', subscription, respond: true, ...first };

  // 6. "The preferred mechanism for a server to detect a NACK is to look for the presence of
  //    the error_detail field" (NACK); its version_info is the version the client still runs.
  //    The server records it and does not answer: resending what was just rejected would be
  //    rejected again. Only a change of names is answered (rule 7).
  const kind: RequestKind = request.error_detail ? 'nack' : 'ack';

  // 7. "When the client sends a new request that changes the set of resources being requested,
  //    the server must resend any newly requested resources" (How the client specifies...).
  //    Otherwise an ACK needs no answer: "Envoy does not expect a DiscoveryResponse for every
  //    DiscoveryRequest it issues" (Resource updates).
  return { action: 'accept', kind, subscription, respond: namesChanged, ...first };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
