import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtoShapeError, typed } from '../../xds/any.js';
import { TypeUrl } from '../../xds/types.js';
import { Snapshot, SnapshotError } from './snapshot.js';
import {
  edsCluster,
  endpoints,
  httpConnectionManager,
  rdsListener,
  routeTo,
  sampleResources,
} from '../../../test/support/xds-fixtures.js';

test('versions are content hashes: same content, same version, whatever the order', () => {
  const a = Snapshot.build({
    [TypeUrl.Cluster]: [edsCluster('a'), edsCluster('b')],
    [TypeUrl.ClusterLoadAssignment]: [endpoints('a', 1), endpoints('b', 2)],
  });
  const b = Snapshot.build({
    [TypeUrl.Cluster]: [edsCluster('b'), edsCluster('a')],
    [TypeUrl.ClusterLoadAssignment]: [endpoints('b', 2), endpoints('a', 1)],
  });
  assert.match(a.version(TypeUrl.Cluster), /^[0-9a-f]{12}$/);
  assert.equal(a.version(TypeUrl.Cluster), b.version(TypeUrl.Cluster));
  assert.equal(a.version(TypeUrl.ClusterLoadAssignment), b.version(TypeUrl.ClusterLoadAssignment));
  assert.deepEqual([...b.resources(TypeUrl.Cluster).keys()], ['a', 'b']);
  const changed = Snapshot.build({
    [TypeUrl.Cluster]: [edsCluster('a'), edsCluster('b')],
    [TypeUrl.ClusterLoadAssignment]: [endpoints('a', 1), endpoints('b', 3)],
  });
  assert.equal(changed.version(TypeUrl.Cluster), a.version(TypeUrl.Cluster));
  assert.notEqual(
    changed.version(TypeUrl.ClusterLoadAssignment),
    a.version(TypeUrl.ClusterLoadAssignment),
  );
  assert.equal(
    changed.digest(TypeUrl.ClusterLoadAssignment, 'a'),
    a.digest(TypeUrl.ClusterLoadAssignment, 'a'),
  );
  assert.notEqual(
    changed.digest(TypeUrl.ClusterLoadAssignment, 'b'),
    a.digest(TypeUrl.ClusterLoadAssignment, 'b'),
  );
});

test('a type without resources has version "" and an empty map', () => {
  const s = Snapshot.build({ [TypeUrl.Listener]: [] });
  assert.equal(s.version(TypeUrl.Listener), '');
  assert.equal(s.resources(TypeUrl.Listener).size, 0);
  assert.equal(s.decoded(TypeUrl.Secret).size, 0);
  assert.deepEqual(s.types(), []);
});

test('resources are packed as Any and decode back to their JSON form', () => {
  const s = Snapshot.build(sampleResources(9080));
  const any = s.resources(TypeUrl.ClusterLoadAssignment).get('reviews');
  assert.equal(any?.type_url, TypeUrl.ClusterLoadAssignment);
  assert.ok(Buffer.isBuffer(any?.value));
  assert.deepEqual(
    s.decoded(TypeUrl.ClusterLoadAssignment).get('reviews'),
    endpoints('reviews', 9080).resource,
  );
  const cluster = s.decoded(TypeUrl.Cluster).get('reviews') as Record<string, unknown>;
  assert.equal(cluster['type'], 'EDS');
  assert.equal(cluster['connect_timeout'], '1s');
});

test('a misspelt field, a duplicate or a mismatched name is refused at build', () => {
  assert.throws(
    () =>
      Snapshot.build({
        [TypeUrl.Cluster]: [{ name: 'a', resource: { name: 'a', conect_timeout: '1s' } }],
      }),
    (e: unknown) => e instanceof ProtoShapeError && /conect_timeout/.test(e.message),
  );
  assert.throws(
    () => Snapshot.build({ [TypeUrl.Cluster]: [edsCluster('a'), edsCluster('a')] }),
    (e: unknown) =>
      e instanceof SnapshotError && e.code === 'ERR_SNAPSHOT' && /twice/.test(e.message),
  );
  assert.throws(
    () =>
      Snapshot.build({
        [TypeUrl.ClusterLoadAssignment]: [{ name: 'x', resource: endpoints('y', 1).resource }],
      }),
    (e: unknown) => e instanceof SnapshotError && /"y"/.test(e.message),
  );
});

test('consistency: the sample mesh is consistent', () => {
  assert.deepEqual(Snapshot.build(sampleResources()).consistencyErrors(), []);
});

test('consistency: an EDS cluster needs a ClusterLoadAssignment under its service name', () => {
  const s = Snapshot.build({
    [TypeUrl.Cluster]: [
      edsCluster('plain'),
      edsCluster('outbound|9080||reviews', 'reviews-svc'),
      { name: 'static', resource: { name: 'static', type: 'STATIC', connect_timeout: '1s' } },
    ],
    [TypeUrl.ClusterLoadAssignment]: [endpoints('outbound|9080||reviews', 1)],
  });
  assert.deepEqual(s.consistencyErrors(), [
    'Cluster outbound|9080||reviews: EDS service "reviews-svc" has no ClusterLoadAssignment',
    'Cluster plain: EDS service "plain" has no ClusterLoadAssignment',
  ]);
});

test('consistency: every RDS name of a listener (filter chains, default chain, scoped, api) exists', () => {
  const hcmScoped = typed(
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    {
      stat_prefix: 's',
      scoped_routes: {
        name: 'scopes',
        scope_key_builder: { fragments: [{ header_value_extractor: { name: 'x-scope' } }] },
        scoped_route_configurations_list: {
          scoped_route_configurations: [
            {
              name: 'one',
              route_configuration_name: 'scoped-a',
              key: { fragments: [{ string_key: 'a' }] },
            },
          ],
        },
      },
    },
  );
  const s = Snapshot.build({
    [TypeUrl.Listener]: [
      rdsListener('l1', 1, 'present'),
      rdsListener('l2', 2, 'missing'),
      {
        name: 'l3',
        resource: {
          name: 'l3',
          default_filter_chain: {
            filters: [{ name: 'hcm', typed_config: hcmScoped }],
          },
        },
      },
      {
        name: 'api',
        resource: {
          name: 'api',
          api_listener: { api_listener: httpConnectionManager('api-routes') },
        },
      },
    ],
    [TypeUrl.RouteConfiguration]: [routeTo('present', 'c')],
  });
  assert.deepEqual(s.consistencyErrors(), [
    'Listener api: RDS route config "api-routes" has no RouteConfiguration',
    'Listener l2: RDS route config "missing" has no RouteConfiguration',
    'Listener l3: RDS route config "scoped-a" has no RouteConfiguration',
  ]);
});
