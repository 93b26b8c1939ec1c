import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Assignment } from './assignment.js';
import { compileAssignment } from './assignment.js';
import { compileCluster } from './cluster-config.js';
import { ClusterManager } from './cluster-manager.js';

const managers: ClusterManager[] = [];
after(() => Promise.all(managers.map((m) => m.close())));
function manager(): ClusterManager {
  const m = new ClusterManager();
  managers.push(m);
  return m;
}

const eds = (name: string, extra: Record<string, unknown> = {}) =>
  compileCluster({
    name,
    type: 'EDS',
    eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
    ...extra,
  });

function cla(name: string, ...ports: number[]): Map<string, Assignment> {
  return new Map([
    [
      name,
      compileAssignment({
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: ports.map((p) => ({
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } },
            })),
          },
        ],
      }),
    ],
  ]);
}

const ports = (m: ClusterManager, name: string) => m.get(name)?.hosts.map((h) => h.port) ?? [];

test('an unchanged cluster is kept across CDS updates, a changed one replaced with its hosts', () => {
  const m = manager();
  m.applyClusters([eds('a'), eds('b')]);
  m.applyAssignments(cla('a', 1, 2));
  m.applyAssignments(cla('b', 3));
  const a = m.get('a');
  const b = m.get('b');
  const hostA = a?.hosts[0];
  // The same resource decoded again (a new object, equal content): the very same cluster.
  m.applyClusters([eds('a'), eds('b', { connect_timeout: '1s' })]);
  assert.equal(m.get('a'), a);
  assert.equal(m.get('a')?.hosts[0], hostA);
  // A changed cluster is a new object that keeps the assignment it had.
  assert.notEqual(m.get('b'), b);
  assert.equal(m.get('b')?.config.connectTimeoutMs, 1000);
  assert.deepEqual(ports(m, 'b'), [3]);
  // State of the world: a cluster not in the update is gone.
  m.applyClusters([eds('a')]);
  assert.equal(m.get('b'), undefined);
  assert.deepEqual(
    m.all().map((c) => c.config.name),
    ['a'],
  );
});

test('an EDS update swaps the hosts; hosts that stay keep their counters', () => {
  const m = manager();
  m.applyClusters([eds('a')]);
  m.applyAssignments(cla('a', 1, 2));
  const kept = m.get('a')?.hosts.find((h) => h.port === 2);
  assert.ok(kept);
  kept.requestsTotal = 7;
  m.applyAssignments(cla('a', 2, 3));
  assert.deepEqual(ports(m, 'a'), [2, 3]);
  assert.equal(
    m.get('a')?.hosts.find((h) => h.port === 2),
    kept,
  );
  // The load balancer sees the new set.
  const picked = new Set(
    Array.from({ length: 4 }, () => m.get('a')?.chooseHost({ authority: 'a' })?.port),
  );
  assert.deepEqual([...picked].sort(), [2, 3]);
  // Unhealthy endpoints are not hosts.
  m.applyAssignments(
    new Map([
      [
        'a',
        compileAssignment({
          cluster_name: 'a',
          endpoints: [
            {
              lb_endpoints: [
                {
                  endpoint: {
                    address: { socket_address: { address: '127.0.0.1', port_value: 4 } },
                  },
                  health_status: 'UNHEALTHY',
                },
                {
                  endpoint: {
                    address: { socket_address: { address: '127.0.0.1', port_value: 5 } },
                  },
                },
              ],
            },
          ],
        }),
      ],
    ]),
  );
  assert.deepEqual(ports(m, 'a'), [5]);
});

test('warm once every EDS cluster has had an assignment; EDS names to subscribe to', () => {
  const m = manager();
  assert.ok(m.warm(), 'no clusters: nothing to wait for');
  m.applyClusters([eds('b'), eds('a'), compileCluster({ name: 'static' })]);
  assert.deepEqual(m.edsServiceNames(), ['a', 'b']);
  assert.ok(!m.warm());
  m.applyAssignments(cla('a', 1));
  assert.ok(!m.warm());
  m.applyAssignments(cla('b'));
  assert.ok(m.warm(), 'an empty assignment is still an assignment');
  // A new EDS cluster makes the manager cold again until its assignment arrives.
  m.applyClusters([eds('a'), eds('b'), eds('c')]);
  assert.ok(!m.warm());
});

test('ORIGINAL_DST clusters route to the authority, port 80 by default', () => {
  const m = manager();
  m.applyClusters([
    compileCluster({
      name: 'PassthroughCluster',
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      original_dst_lb_config: { use_http_header: true, http_header_name: ':authority' },
    }),
  ]);
  const c = m.get('PassthroughCluster');
  assert.equal(c?.chooseHost({ authority: 'example.com:8080' })?.key, 'example.com:8080');
  assert.equal(c?.chooseHost({ authority: 'example.com' })?.key, 'example.com:80');
  assert.equal(c?.chooseHost({ authority: '[::1]:9' })?.key, '[::1]:9');
  // The same destination is the same host (its pool and counters).
  assert.equal(
    c?.chooseHost({ authority: 'example.com:8080' }),
    c?.chooseHost({ authority: 'example.com:8080' }),
  );
  assert.equal(c?.chooseHost({ authority: '' }), undefined);
});

test('regression: a changed cluster closes the pools of hosts it no longer has', () => {
  const m = manager();
  const inbound = (appPort: number, timeout = '1s') =>
    compileCluster({
      name: 'inbound|9080||',
      type: 'STATIC',
      connect_timeout: timeout,
      load_assignment: {
        cluster_name: 'inbound|9080||',
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: '127.0.0.1', port_value: appPort } },
                },
              },
            ],
          },
        ],
      },
    });
  m.applyClusters([inbound(1)]);
  const before = m.get('inbound|9080||');
  const host = before?.chooseHost({ authority: 'x' });
  assert.ok(before && host);
  const pool = before.dispatcher(host) as unknown as { closed: boolean };
  // The app moved to another port (same pool settings): the old host's pool must not leak.
  m.applyClusters([inbound(2)]);
  assert.equal(pool.closed, true);
  assert.deepEqual(ports(m, 'inbound|9080||'), [2]);
});

test('pools carry over to a changed cluster for hosts it keeps, and for original destinations', () => {
  const m = manager();
  m.applyClusters([eds('a')]);
  m.applyAssignments(cla('a', 1));
  const host = m.get('a')?.chooseHost({ authority: 'a' });
  assert.ok(host);
  const pool = m.get('a')?.dispatcher(host);
  m.applyClusters([eds('a', { metadata: { filter_metadata: { istio: { subset: 'x' } } } })]);
  const after = m.get('a');
  assert.ok(after && after.hosts[0]);
  assert.equal(after.dispatcher(after.hosts[0]), pool);

  const odst = (timeout: string, extra: Record<string, unknown> = {}) =>
    compileCluster({
      name: 'o',
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      connect_timeout: timeout,
      ...extra,
    });
  m.applyClusters([odst('1s')]);
  const dst = m.get('o')?.chooseHost({ authority: 'example.com:81' });
  assert.ok(dst);
  const dstPool = m.get('o')?.dispatcher(dst);
  m.applyClusters([odst('1s', { metadata: { filter_metadata: { x: {} } } })]);
  const again = m.get('o')?.chooseHost({ authority: 'example.com:81' });
  assert.ok(again);
  assert.equal(m.get('o')?.dispatcher(again), dstPool);
});
