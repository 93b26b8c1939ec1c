import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../config-error.js';
import {
  NO_ROUTE_UPGRADES,
  compileCodecOptions,
  compileRouteUpgrades,
  upgradeEnabled,
} from './codec-config.js';
import { isHttp2Preface, prefaceDecided } from './codec.js';

test('codec type (AUTO by default) and the upgrades a connection manager lets through', () => {
  assert.deepEqual(compileCodecOptions({}), { codecType: 'AUTO', upgradeTypes: new Set() });
  const c = compileCodecOptions({
    codec_type: 'HTTP1',
    upgrade_configs: [
      { upgrade_type: 'websocket' },
      { upgrade_type: 'CONNECT' },
      { upgrade_type: 'h2c', enabled: false },
    ],
  });
  assert.equal(c.codecType, 'HTTP1');
  assert.deepEqual([...c.upgradeTypes], ['websocket', 'connect']);
  assert.throws(
    () => compileCodecOptions({ codec_type: 'HTTP3' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'codec_type',
  );
  assert.throws(
    () => compileCodecOptions({ upgrade_configs: [{ upgrade_type: 'websocket', filters: [{}] }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'upgrade_configs[0].filters',
  );
});

test('route upgrade_configs: CONNECT termination, per-route overrides', () => {
  assert.equal(compileRouteUpgrades(undefined), NO_ROUTE_UPGRADES);
  const r = compileRouteUpgrades([
    { upgrade_type: 'CONNECT', connect_config: {} },
    { upgrade_type: 'websocket', enabled: false },
  ]);
  assert.equal(r.terminateConnect, true);
  const hcm = compileCodecOptions({ upgrade_configs: [{ upgrade_type: 'websocket' }] });
  assert.equal(upgradeEnabled('websocket', hcm, undefined), true);
  assert.equal(upgradeEnabled('websocket', hcm, r), false, 'the route overrides');
  assert.equal(upgradeEnabled('connect', hcm, r), true);
  assert.equal(upgradeEnabled('connect', hcm, undefined), false);
  assert.equal(compileRouteUpgrades([{ upgrade_type: 'CONNECT' }]).terminateConnect, false);
  const fails = (list: Record<string, unknown>[], field: string) =>
    assert.throws(
      () => compileRouteUpgrades(list),
      (e: unknown) => e instanceof ConfigError && e.field === field,
    );
  fails([{ upgrade_type: 'websocket', connect_config: {} }], 'upgrade_configs[0].connect_config');
  fails(
    [{ upgrade_type: 'CONNECT', connect_config: { allow_post: true } }],
    'upgrade_configs[0].connect_config.allow_post',
  );
});

test('the HTTP/2 client preface decides the codec, on as few bytes as it takes', () => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  assert.equal(prefaceDecided(preface.subarray(0, 10)), false, 'still could be HTTP/2');
  assert.equal(prefaceDecided(Buffer.from('G')), true, 'HTTP/1.1 shows at once');
  assert.equal(prefaceDecided(Buffer.from('PRX')), true);
  assert.equal(isHttp2Preface(Buffer.from('PRX')), false);
  assert.equal(prefaceDecided(preface), true);
  assert.equal(isHttp2Preface(Buffer.concat([preface, Buffer.from([0, 0, 0])])), true);
});
