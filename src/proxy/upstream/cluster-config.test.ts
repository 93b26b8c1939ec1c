import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import { compileCluster } from './cluster-config.js';

test('an EDS cluster with circuit breakers, timeouts and metadata', () => {
  const source = {
    name: 'outbound|9080||reviews',
    type: 'EDS',
    eds_cluster_config: { service_name: 'reviews-eds', eds_config: { ads: {} } },
    lb_policy: 'LEAST_REQUEST',
    connect_timeout: '0.25s',
    circuit_breakers: {
      thresholds: [
        { priority: 'HIGH', max_connections: 1 },
        { max_connections: 10, max_pending_requests: 20, max_requests: 30, max_retries: 4 },
      ],
    },
    max_requests_per_connection: 2,
    metadata: { filter_metadata: { istio: { subset: 'v1' } } },
  };
  const c = compileCluster(source);
  assert.equal(c.name, 'outbound|9080||reviews');
  assert.equal(c.type, 'EDS');
  assert.equal(c.edsServiceName, 'reviews-eds');
  assert.equal(c.lbPolicy, 'LEAST_REQUEST');
  assert.equal(c.connectTimeoutMs, 250);
  // The DEFAULT priority's thresholds; HIGH is not used.
  assert.deepEqual(c.thresholds, {
    maxConnections: 10,
    maxPendingRequests: 20,
    maxRequests: 30,
    maxRetries: 4,
  });
  assert.equal(c.maxRequestsPerConnection, 2);
  assert.deepEqual(c.metadata, source.metadata);
  assert.equal(c.source, source);
  assert.equal(c.loadAssignment, undefined);
  assert.equal(c.originalDstHeader, undefined);
});

test("Envoy's defaults: STATIC, ROUND_ROBIN, 5s connect timeout, 1024/1024/1024/3, EDS name = cluster name", () => {
  const c = compileCluster({ name: 'plain' });
  assert.equal(c.type, 'STATIC');
  assert.equal(c.lbPolicy, 'ROUND_ROBIN');
  assert.equal(c.connectTimeoutMs, 5000);
  assert.deepEqual(c.thresholds, {
    maxConnections: 1024,
    maxPendingRequests: 1024,
    maxRequests: 1024,
    maxRetries: 3,
  });
  assert.equal(c.edsServiceName, 'plain');
  assert.equal(c.maxRequestsPerConnection, 0);
  // Thresholds given partly: the rest default.
  assert.deepEqual(
    compileCluster({ name: 'p', circuit_breakers: { thresholds: [{ max_retries: 9 }] } })
      .thresholds,
    {
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 9,
    },
  );
});

test('STATIC clusters carry their hosts; ORIGINAL_DST reads the destination header', () => {
  const s = compileCluster({
    name: 'inbound|9080||',
    type: 'STATIC',
    load_assignment: {
      cluster_name: 'inbound|9080||',
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9081 } } },
            },
          ],
        },
      ],
    },
  });
  assert.deepEqual(
    s.loadAssignment?.hosts.map((h) => `${h.address}:${h.port}`),
    ['127.0.0.1:9081'],
  );
  const o = compileCluster({
    name: 'PassthroughCluster',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    original_dst_lb_config: { use_http_header: true, http_header_name: ':authority' },
  });
  assert.equal(o.originalDstHeader, ':authority');
  assert.equal(
    compileCluster({
      name: 'o',
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      original_dst_lb_config: { use_http_header: true },
    }).originalDstHeader,
    'x-envoy-original-dst-host',
  );
});

test('errors name the cluster and the field, for the NACK', () => {
  const fails = (c: Record<string, unknown>, field: string, detail: RegExp) =>
    assert.throws(
      () => compileCluster(c),
      (e: unknown) => e instanceof ConfigError && e.field === field && detail.test(e.message),
    );
  fails(
    { name: 'c', lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' },
    'Cluster c.lb_policy',
    /lb_policy: LOAD_BALANCING_POLICY_CONFIG is not supported/,
  );
  fails({ name: 'c', type: 'REDIS' }, 'Cluster c.type', /discovery type REDIS/);
  fails({ name: 'c', type: 'ORIGINAL_DST' }, 'Cluster c.lb_policy', /CLUSTER_PROVIDED/);
  fails({ name: 'c', connect_timeout: 'soon' }, 'Cluster c.connect_timeout', /connect_timeout/);
  fails({}, 'name', /needs a name/);
  fails(
    {
      name: 'c',
      load_assignment: {
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: 'h', port_value: 0 } } } },
            ],
          },
        ],
      },
    },
    'Cluster c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    /invalid port 0/,
  );
});
