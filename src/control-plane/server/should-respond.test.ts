import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '../../xds/ads-service.js';
import { fromEnvoyNode, nodeId, toEnvoyNode } from '../../xds/node.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { decideRequest } from './should-respond.js';
import { nextSubscription } from './stream-state.js';
import type { Subscription } from './stream-state.js';

const proxy: ProxyNode = fromEnvoyNode(
  toEnvoyNode({
    id: nodeId({ type: 'sidecar', ip: '127.0.0.1', name: 'reviews-v1-0', namespace: 'default' }),
    type: 'sidecar',
    name: 'reviews-v1-0',
    namespace: 'default',
    workloadName: 'reviews-v1',
    serviceAccount: 'reviews',
    labels: { app: 'reviews' },
    ip: '127.0.0.1',
    inbound: [],
    istioVersion: '',
  }),
);

function req(fields: Partial<DiscoveryRequest>): DiscoveryRequest {
  return {
    version_info: '',
    resource_names: [],
    type_url: TypeUrl.Cluster,
    response_nonce: '',
    ...fields,
  };
}

function sub(typeUrl: string, names: string[], previous?: Subscription): Subscription {
  return nextSubscription(typeUrl, previous, names);
}

const EDS = TypeUrl.ClusterLoadAssignment;

test('the first request must carry a valid node, or the stream is refused', () => {
  const none = decideRequest({ node: undefined, type: undefined }, req({}));
  assert.equal(none.action, 'refuse');
  assert.equal(none.action === 'refuse' && none.code, grpc.status.INVALID_ARGUMENT);
  const bad = decideRequest({ node: undefined, type: undefined }, req({ node: { id: 'nope' } }));
  assert.equal(bad.action, 'refuse');
  const good = decideRequest(
    { node: undefined, type: undefined },
    req({ node: toEnvoyNode(proxy) }),
  );
  assert.equal(good.action, 'accept');
  assert.equal(good.action === 'accept' && good.node?.id, proxy.id);
  // Later requests need no node.
  const later = decideRequest(
    { node: proxy, type: undefined },
    req({ type_url: TypeUrl.Listener }),
  );
  assert.equal(later.action, 'accept');
  assert.equal(later.action === 'accept' && later.node, undefined);
});

test('a request without type_url is refused', () => {
  const d = decideRequest({ node: proxy, type: undefined }, req({ type_url: '' }));
  assert.equal(d.action, 'refuse');
});

test('an initial request (no nonce) is always answered', () => {
  const d = decideRequest({ node: proxy, type: undefined }, req({ version_info: 'old' }));
  assert.deepEqual(d.action === 'accept' && [d.kind, d.respond], ['subscribe', true]);
  const again = decideRequest(
    { node: proxy, type: { subscription: sub(TypeUrl.Cluster, []), sentNonce: '1-4' } },
    req({}),
  );
  assert.deepEqual(again.action === 'accept' && [again.kind, again.respond], ['subscribe', true]);
});

test('a stale nonce is ignored, even when it changes names or carries an error', () => {
  const type = { subscription: sub(EDS, ['a']), sentNonce: '1-7' };
  for (const extra of [
    {},
    { resource_names: ['a', 'b'] },
    { error_detail: { code: 3, message: 'x' } },
  ]) {
    const d = decideRequest(
      { node: proxy, type },
      req({ type_url: EDS, response_nonce: '1-6', ...extra }),
    );
    assert.equal(d.action, 'ignore');
  }
  // A nonce for a type never sent on this stream is stale too (e.g. from an older stream).
  const unknown = decideRequest({ node: proxy, type: undefined }, req({ response_nonce: '9-1' }));
  assert.equal(unknown.action, 'ignore');
});

test('ACK: recorded, answered only when the names change', () => {
  const type = { subscription: sub(EDS, ['a', 'b']), sentNonce: '1-7' };
  const same = decideRequest(
    { node: proxy, type },
    req({ type_url: EDS, response_nonce: '1-7', version_info: 'v2', resource_names: ['b', 'a'] }),
  );
  assert.deepEqual(same.action === 'accept' && [same.kind, same.respond], ['ack', false]);
  const more = decideRequest(
    { node: proxy, type },
    req({
      type_url: EDS,
      response_nonce: '1-7',
      version_info: 'v2',
      resource_names: ['a', 'b', 'c'],
    }),
  );
  assert.deepEqual(more.action === 'accept' && [more.kind, more.respond], ['ack', true]);
  assert.deepEqual(more.action === 'accept' && [...more.subscription.names], ['a', 'b', 'c']);
});

test('NACK: error_detail with the current nonce; not answered unless the names change', () => {
  const type = { subscription: sub(EDS, ['a']), sentNonce: '1-7' };
  const nack = { code: 3, message: 'bad endpoint' };
  const d = decideRequest(
    { node: proxy, type },
    req({
      type_url: EDS,
      response_nonce: '1-7',
      version_info: 'v1',
      resource_names: ['a'],
      error_detail: nack,
    }),
  );
  assert.deepEqual(d.action === 'accept' && [d.kind, d.respond], ['nack', false]);
  const moved = decideRequest(
    { node: proxy, type },
    req({ type_url: EDS, response_nonce: '1-7', resource_names: ['b'], error_detail: nack }),
  );
  assert.deepEqual(moved.action === 'accept' && [moved.kind, moved.respond], ['nack', true]);
});

test('wildcard: legacy empty list or "*", for Listener and Cluster only', () => {
  const legacy = sub(TypeUrl.Listener, []);
  assert.equal(legacy.wildcard, true);
  assert.equal(sub(TypeUrl.Listener, [], legacy).wildcard, true); // still never named
  const named = sub(TypeUrl.Listener, ['x'], legacy);
  assert.deepEqual([named.wildcard, [...named.names]], [false, ['x']]);
  const emptied = sub(TypeUrl.Listener, [], named); // after naming, empty = unsubscribe
  assert.deepEqual([emptied.wildcard, emptied.names.size], [false, 0]);
  const star = sub(TypeUrl.Cluster, ['*', 'a']);
  assert.deepEqual([star.wildcard, [...star.names]], [true, ['a']]);
  assert.equal(sub(EDS, []).wildcard, false);
  assert.equal(sub(EDS, ['*']).wildcard, false);
});

test('a switch from legacy wildcard to "*" is not a change of subscription', () => {
  const type = { subscription: sub(TypeUrl.Cluster, []), sentNonce: '1-1' };
  const d = decideRequest(
    { node: proxy, type },
    req({ response_nonce: '1-1', resource_names: ['*'] }),
  );
  assert.deepEqual(d.action === 'accept' && [d.kind, d.respond], ['ack', false]);
});
