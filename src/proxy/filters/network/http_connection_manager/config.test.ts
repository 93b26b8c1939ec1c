import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../config-error.js';
import { compileHcm } from './config.js';

const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

const rds = { route_config_name: 'http_proxy', config_source: { ads: {} } };

test('RDS or inline routes; Envoy’s defaults for the rest', () => {
  const c = compileHcm({ stat_prefix: 'out', rds, http_filters: [ROUTER] });
  assert.deepEqual(c.routes, { kind: 'rds', name: 'http_proxy' });
  assert.equal(c.statPrefix, 'out');
  assert.deepEqual(c.filters, []);
  assert.equal(c.router.suppressEnvoyHeaders, false);
  assert.equal(c.useRemoteAddress, false);
  assert.equal(c.generateRequestId, true);
  assert.equal(c.normalizePath, false);
  assert.equal(c.mergeSlashes, false);
  assert.equal(c.serverName, 'envoy');
  assert.equal(c.allowAbsoluteUrl, true);
  assert.ok(Object.isFrozen(c));
  const inline = compileHcm({
    route_config: { name: 'in', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [] }] },
    http_filters: [
      { ...ROUTER, typed_config: { ...ROUTER.typed_config, suppress_envoy_headers: true } },
    ],
    use_remote_address: true,
    generate_request_id: false,
    normalize_path: true,
    merge_slashes: true,
    server_name: 'istio-envoy',
    http_protocol_options: { allow_absolute_url: false },
  });
  assert.equal(inline.routes.kind, 'inline');
  assert.equal(inline.routes.kind === 'inline' ? inline.routes.table.name : '', 'in');
  assert.equal(inline.router.suppressEnvoyHeaders, true);
  assert.equal(inline.useRemoteAddress, true);
  assert.equal(inline.generateRequestId, false);
  assert.equal(inline.normalizePath, true);
  assert.equal(inline.mergeSlashes, true);
  assert.equal(inline.serverName, 'istio-envoy');
  assert.equal(inline.allowAbsoluteUrl, false);
});

test('errors name the field: routes, the router, unsupported filters', () => {
  const fails = (typed: Record<string, unknown>, field: string, detail: RegExp) =>
    assert.throws(
      () => compileHcm(typed),
      (e: unknown) => e instanceof ConfigError && e.field === field && detail.test(e.detail),
    );
  fails({ http_filters: [ROUTER] }, '', /needs rds or route_config/);
  fails(
    { rds: { route_config_name: '' }, http_filters: [ROUTER] },
    'rds.route_config_name',
    /required/,
  );
  fails({ rds, http_filters: [] }, 'http_filters', /must be envoy\.filters\.http\.router/);
  fails(
    {
      rds,
      http_filters: [
        {
          name: 'envoy.filters.http.lua',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua' },
        },
        ROUTER,
      ],
    },
    'http_filters[0].typed_config',
    /envoy\.filters\.http\.lua .* is not supported/,
  );
  fails({ rds, http_filters: [ROUTER, ROUTER] }, 'http_filters[1]', /router must be the last/);
  fails(
    {
      route_config: { name: 'x', virtual_hosts: [{ name: 'v', domains: [] }] },
      http_filters: [ROUTER],
    },
    'route_config.virtual_hosts[0].domains',
    /at least one domain/,
  );
  // An optional filter skiff does not know is skipped, as Envoy does with is_optional.
  const c = compileHcm({
    rds,
    http_filters: [
      { name: 'x', is_optional: true, typed_config: { '@type': 'type.googleapis.com/x.Unknown' } },
      ROUTER,
    ],
  });
  assert.deepEqual(c.filters, []);
});
