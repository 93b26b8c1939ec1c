import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packAny } from '../../xds/any.js';
import type { DiscoveryResponse } from '../../xds/ads-service.js';
import { TypeUrl } from '../../xds/types.js';
import { Backoff } from './backoff.js';
import { ResponseError, decodeResources, nextResourceSet, sameContent } from './resource-set.js';

const cla = (name: string, port: number) => ({
  cluster_name: name,
  endpoints: [
    {
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
      ],
    },
  ],
});

function response(typeUrl: string, resources: object[]): DiscoveryResponse {
  return {
    version_info: 'v',
    nonce: 'n',
    type_url: typeUrl,
    resources: resources.map((r) => packAny(typeUrl, r)),
  };
}

test('decodeResources names each resource (cluster_name for endpoints)', () => {
  const decoded = decodeResources(
    response(TypeUrl.ClusterLoadAssignment, [cla('a', 1), cla('b', 2)]),
  );
  assert.deepEqual([...decoded.keys()], ['a', 'b']);
  assert.deepEqual(decoded.get('a')?.resource, cla('a', 1));
});

test('decodeResources rejects duplicates, foreign types, garbage and nameless resources', () => {
  const dup = response(TypeUrl.ClusterLoadAssignment, [cla('a', 1), cla('a', 2)]);
  assert.throws(
    () => decodeResources(dup),
    (e: unknown) => e instanceof ResponseError && /twice/.test(e.message),
  );
  const foreign = response(TypeUrl.Cluster, [{ name: 'c' }]);
  foreign.resources.push(packAny(TypeUrl.ClusterLoadAssignment, cla('a', 1)));
  assert.throws(() => decodeResources(foreign), /resources\[1\]: type/);
  const garbage = response(TypeUrl.Cluster, []);
  garbage.resources.push({ type_url: TypeUrl.Cluster, value: Buffer.from([0xff, 0xff, 0xff]) });
  assert.throws(() => decodeResources(garbage), /cannot decode/);
  assert.throws(
    () => decodeResources(response(TypeUrl.Cluster, [{ connect_timeout: '1s' }])),
    /no name/,
  );
});

test('nextResourceSet: wildcard replaces, named LDS/CDS replaces within names, named EDS/RDS merges', () => {
  const previous = new Map([
    ['a', { v: 1 }],
    ['b', { v: 1 }],
    ['gone', { v: 1 }],
  ]);
  const decoded = new Map([
    ['a', { v: 2 }],
    ['x', { v: 2 }],
  ]);
  assert.deepEqual(
    [...nextResourceSet(TypeUrl.Cluster, previous, decoded, '*')],
    [
      ['a', { v: 2 }],
      ['x', { v: 2 }],
    ],
  );
  assert.deepEqual(
    [...nextResourceSet(TypeUrl.Listener, previous, decoded, ['a', 'b'])],
    [['a', { v: 2 }]],
  );
  assert.deepEqual(
    [...nextResourceSet(TypeUrl.ClusterLoadAssignment, previous, decoded, ['a', 'b'])],
    [
      ['a', { v: 2 }],
      ['b', { v: 1 }],
    ],
  );
});

test('sameContent compares names and bytes', () => {
  const one = decodeResources(response(TypeUrl.ClusterLoadAssignment, [cla('a', 1), cla('b', 2)]));
  const again = decodeResources(
    response(TypeUrl.ClusterLoadAssignment, [cla('b', 2), cla('a', 1)]),
  );
  const changed = decodeResources(
    response(TypeUrl.ClusterLoadAssignment, [cla('a', 1), cla('b', 3)]),
  );
  const fewer = decodeResources(response(TypeUrl.ClusterLoadAssignment, [cla('a', 1)]));
  assert.equal(sameContent(one, again), true);
  assert.equal(sameContent(one, changed), false);
  assert.equal(sameContent(one, fewer), false);
  assert.equal(sameContent(new Map(), new Map()), true);
});

test('backoff doubles with ±20% jitter up to the maximum, and resets', () => {
  const fixed = (r: number) => new Backoff({ initialMs: 100, maxMs: 1000 }, () => r);
  const mid = fixed(0.5);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => mid.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  mid.reset();
  assert.equal(mid.next(), 100);
  assert.equal(fixed(0).next(), 80);
  assert.equal(fixed(0.999999).next(), 120);
  const high = fixed(0.999999);
  for (let i = 0; i < 10; i++) assert.ok(high.next() <= 1000);
});
