// Reading the route configurations out of a /config_dump, and which one the cost is taken on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeConfigs, routeCost } from './route-cost.js';

const route = (name: string, match: Record<string, unknown>) => ({
  name,
  match,
  route: { cluster: name },
});

test('the cost is taken on the config that tries the most routes for the request', () => {
  const dump = {
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump' },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
        dynamic_route_configs: [
          {
            route_config: {
              '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
              name: 'small',
              virtual_hosts: [
                { name: 'echo', domains: ['echo:9080'], routes: [route('a', { prefix: '/' })] },
              ],
            },
          },
          {
            route_config: {
              name: 'rules',
              virtual_hosts: [
                {
                  name: 'echo',
                  domains: ['echo:9080'],
                  routes: [
                    route('x', { safe_regex: { regex: '/api/.*' } }),
                    route('y', {
                      prefix: '/',
                      headers: [{ name: 'x-tenant', present_match: true }],
                    }),
                    route('z', { safe_regex: { regex: '/.*' } }),
                  ],
                },
              ],
            },
          },
          {
            route_config: {
              name: 'elsewhere',
              virtual_hosts: [{ name: 'o', domains: ['other'], routes: [] }],
            },
          },
        ],
      },
    ],
  };
  const configs = routeConfigs(dump);
  assert.deepEqual(
    configs.map((c) => c['name']),
    ['small', 'rules', 'elsewhere'],
  );
  assert.equal(configs[0]!['@type'], undefined);
  const cost = routeCost(configs);
  assert.equal(cost?.routesTried, 3);
  assert.ok(Number.isFinite(cost?.nsPerLookup));
  assert.equal(routeCost([configs[2]!]), undefined);
  assert.equal(routeConfigs({}).length, 0);
});
