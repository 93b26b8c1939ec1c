import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import { compileAssignment, isRoutable } from './assignment.js';

const ep = (address: string, port: number, extra: Record<string, unknown> = {}) => ({
  endpoint: { address: { socket_address: { address, port_value: port } } },
  ...extra,
});

test('hosts with weight, health, locality and metadata', () => {
  const a = compileAssignment({
    cluster_name: 'c',
    endpoints: [
      {
        locality: { region: 'us', zone: 'us-a', sub_zone: 'r1' },
        lb_endpoints: [
          ep('10.0.0.1', 80, {
            load_balancing_weight: 3,
            health_status: 'HEALTHY',
            metadata: { filter_metadata: { istio: {} } },
          }),
        ],
      },
      {
        priority: 1,
        load_balancing_weight: 7,
        lb_endpoints: [ep('10.0.0.2', 81), ep('::1', 82, { health_status: 'DRAINING' })],
      },
    ],
  });
  assert.equal(a.clusterName, 'c');
  assert.deepEqual(a.hosts, [
    {
      address: '10.0.0.1',
      port: 80,
      weight: 3,
      health: 'HEALTHY',
      locality: 'us/us-a/r1',
      priority: 0,
      localityWeight: 0,
      metadata: { filter_metadata: { istio: {} } },
    },
    {
      address: '10.0.0.2',
      port: 81,
      weight: 1,
      health: 'UNKNOWN',
      locality: '',
      priority: 1,
      localityWeight: 7,
      metadata: {},
    },
    {
      address: '::1',
      port: 82,
      weight: 1,
      health: 'DRAINING',
      locality: '',
      priority: 1,
      localityWeight: 7,
      metadata: {},
    },
  ]);
  assert.deepEqual(compileAssignment({ cluster_name: 'empty' }), {
    clusterName: 'empty',
    hosts: [],
  });
});

test('Envoy routes to HEALTHY, UNKNOWN and DEGRADED hosts only', () => {
  const h = (health: string) =>
    isRoutable({
      address: 'a',
      port: 1,
      weight: 1,
      health: health as never,
      locality: '',
      priority: 0,
      localityWeight: 0,
      metadata: {},
    });
  assert.ok(h('HEALTHY') && h('UNKNOWN') && h('DEGRADED'));
  assert.ok(!h('UNHEALTHY') && !h('DRAINING') && !h('TIMEOUT'));
});

test('a bad endpoint names its place', () => {
  assert.throws(
    () =>
      compileAssignment({
        endpoints: [
          { lb_endpoints: [ep('a', 1)] },
          { lb_endpoints: [ep('b', 1), { endpoint: {} }] },
        ],
      }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'endpoints[1].lb_endpoints[1].endpoint.address.socket_address.address',
  );
  assert.throws(
    () => compileAssignment({ endpoints: [{ lb_endpoints: [ep('a', 70000)] }] }),
    /port_value: invalid port 70000/,
  );
});
