import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MESH_CONFIG, readMeshConfig } from '../../config/mesh-config.js';
import type { PathNormalization } from '../../config/mesh-config.js';
import { compileHcm } from '../../proxy/filters/network/http_connection_manager/config.js';
import type { MeshModel } from '../model/mesh-model.js';
import { httpConnectionManager } from './listeners.js';
import { withPathNormalization } from './path-normalization.js';

type Obj = Record<string, unknown>;

function listenerFor(n: PathNormalization | undefined): Obj {
  const hcm = httpConnectionManager({
    statPrefix: 'inbound_1',
    routes: { rds: 'r' },
    useRemoteAddress: false,
    forwardProxy: false,
    upgrades: [],
  });
  const model =
    n === undefined
      ? undefined
      : ({ meshConfig: { ...DEFAULT_MESH_CONFIG, pathNormalization: { normalization: n } } } as
          MeshModel | undefined);
  const [out] = withPathNormalization(
    [{ name: 'l', resource: { name: 'l', filter_chains: [{ filters: [hcm] }] } }],
    model,
  );
  const chain = ((out?.resource as Obj)['filter_chains'] as Obj[])[0] as Obj;
  return ((chain['filters'] as Obj[])[0] as Obj)['typed_config'] as Obj;
}

test('pathNormalization → the HCM fields istiod sets, and the proxy compiles them', () => {
  const cases: [PathNormalization | undefined, boolean, boolean, string][] = [
    [undefined, true, false, 'KEEP_UNCHANGED'],
    ['NONE', false, false, 'KEEP_UNCHANGED'],
    ['BASE', true, false, 'KEEP_UNCHANGED'],
    ['MERGE_SLASHES', true, true, 'KEEP_UNCHANGED'],
    ['DECODE_AND_MERGE_SLASHES', true, true, 'UNESCAPE_AND_FORWARD'],
  ];
  for (const [n, normalize, merge, escaped] of cases) {
    const typed = listenerFor(n);
    assert.equal(typed['normalize_path'], normalize, String(n));
    assert.equal(typed['merge_slashes'] ?? false, merge, String(n));
    assert.equal(typed['path_with_escaped_slashes_action'], escaped, String(n));
    const c = compileHcm(typed);
    assert.deepEqual(
      [c.normalizePath, c.mergeSlashes, c.escapedSlashes],
      [normalize, merge, escaped],
    );
  }
});

test('mesh config pathNormalization: read, DEFAULT is BASE, a wrong value is an error', () => {
  const errors: string[] = [];
  const sink = { error: (_: unknown, m: string) => errors.push(m), warn: () => {} };
  assert.deepEqual(readMeshConfig({ pathNormalization: { normalization: 'DEFAULT' } }, sink), {
    pathNormalization: { normalization: 'BASE' },
  });
  assert.deepEqual(
    readMeshConfig({ pathNormalization: { normalization: 'MERGE_SLASHES' } }, sink),
    { pathNormalization: { normalization: 'MERGE_SLASHES' } },
  );
  assert.equal(errors.length, 0);
  readMeshConfig({ pathNormalization: { normalization: 'LOWERCASE' } }, sink);
  assert.match(errors[0] ?? '', /normalization must be one of/);
  assert.equal(DEFAULT_MESH_CONFIG.pathNormalization.normalization, 'BASE');
});
