import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BLACKHOLE_CLUSTER,
  HTTP_PROXY_ROUTE,
  PASSTHROUGH_CLUSTER,
  VIRTUAL_OUTBOUND,
  clusterName,
  gatewayRouteName,
  listenerName,
  parseClusterName,
  virtualHostName,
} from './names.js';

test("Istio's resource names", () => {
  assert.equal(
    clusterName('outbound', 9080, 'v1', 'reviews.default.svc.cluster.local'),
    'outbound|9080|v1|reviews.default.svc.cluster.local',
  );
  assert.equal(
    clusterName('outbound', 443, '', 'api.example.com'),
    'outbound|443||api.example.com',
  );
  assert.equal(clusterName('inbound', 9080, '', ''), 'inbound|9080||');
  assert.equal(listenerName('127.0.0.1', 15006), '127.0.0.1_15006');
  assert.equal(gatewayRouteName(8080), 'http.8080');
  assert.equal(
    virtualHostName('reviews.default.svc.cluster.local', 9080),
    'reviews.default.svc.cluster.local:9080',
  );
  assert.equal(VIRTUAL_OUTBOUND, 'virtualOutbound');
  assert.equal(HTTP_PROXY_ROUTE, 'http_proxy');
  assert.equal(BLACKHOLE_CLUSTER, 'BlackHoleCluster');
  assert.equal(PASSTHROUGH_CLUSTER, 'PassthroughCluster');
});

test('cluster names parse back; anything else does not', () => {
  assert.deepEqual(parseClusterName('outbound|9080|v2|reviews.default.svc.cluster.local'), {
    direction: 'outbound',
    port: 9080,
    subset: 'v2',
    host: 'reviews.default.svc.cluster.local',
  });
  assert.deepEqual(parseClusterName('inbound|9080||'), {
    direction: 'inbound',
    port: 9080,
    subset: '',
    host: '',
  });
  assert.equal(parseClusterName('PassthroughCluster'), undefined);
  assert.equal(parseClusterName('a|b|c'), undefined);
});
