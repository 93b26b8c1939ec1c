// Finding the running mesh from any subdirectory, as git finds its repository.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { MeshRecord } from './mesh-record.js';
import { findMeshFile, locateMesh, meshFileIn, writeMeshRecord } from './mesh-record.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-record-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function record(launcherPid: number): MeshRecord {
  return {
    version: 1,
    launcherPid,
    launcherCwd: tmp,
    dir: tmp,
    stateDir: path.join(tmp, '.skiff'),
    instancesFile: path.join(tmp, '.skiff', 'instances.json'),
    startedAt: new Date().toISOString(),
    controlPlane: { grpcAddress: '127.0.0.1:1', httpAddress: '127.0.0.1:2', log: 'cp.log' },
    instances: [],
    gateway: {
      name: 'gw',
      namespace: 'istio-system',
      adminPort: 3,
      log: 'gw.log',
      ports: [],
      urls: [],
    },
  };
}

/** A pid that surely belongs to no process: one that has just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('found from the directory itself and from any subdirectory', () => {
  const root = path.join(tmp, 'found');
  const deep = path.join(root, 'a', 'b', 'c');
  mkdirSync(deep, { recursive: true });
  writeMeshRecord(meshFileIn(root), record(process.pid));
  assert.equal(findMeshFile(root), meshFileIn(root));
  assert.equal(findMeshFile(deep), meshFileIn(root));
  const located = locateMesh({ cwd: deep, env: {} });
  assert.equal(located.file, meshFileIn(root));
  assert.equal(located.record.launcherPid, process.pid);
});

test('the nearest record wins', () => {
  const outer = path.join(tmp, 'nearest');
  const inner = path.join(outer, 'inner');
  mkdirSync(inner, { recursive: true });
  writeMeshRecord(meshFileIn(outer), record(process.pid));
  writeMeshRecord(meshFileIn(inner), record(process.pid));
  assert.equal(locateMesh({ cwd: path.join(inner), env: {} }).file, meshFileIn(inner));
});

test('--mesh and SKIFF_MESH name the record explicitly', () => {
  const elsewhere = path.join(tmp, 'elsewhere');
  const cwd = path.join(tmp, 'unrelated');
  mkdirSync(cwd, { recursive: true });
  writeMeshRecord(meshFileIn(elsewhere), record(process.pid));
  assert.equal(
    locateMesh({ cwd, env: { SKIFF_MESH: meshFileIn(elsewhere) } }).file,
    meshFileIn(elsewhere),
  );
  assert.equal(
    locateMesh({ cwd, meshFile: meshFileIn(elsewhere), env: { SKIFF_MESH: '/nope' } }).file,
    meshFileIn(elsewhere),
  );
  assert.throws(() => locateMesh({ cwd, meshFile: path.join(cwd, 'missing.json'), env: {} }), {
    code: 'ERR_NO_MESH',
  });
});

test('no record: "no running mesh"; a dead launcher: "stale"', () => {
  const none = mkdtempSync(path.join(os.tmpdir(), 'skiff-no-mesh-'));
  try {
    assert.throws(() => locateMesh({ cwd: none, env: {} }), {
      code: 'ERR_NO_MESH',
      message: /^no running mesh \(no \.skiff\/mesh\.json in /,
    });
  } finally {
    rmSync(none, { recursive: true, force: true });
  }
  const stale = path.join(tmp, 'stale');
  writeMeshRecord(meshFileIn(stale), record(deadPid()));
  assert.throws(() => locateMesh({ cwd: stale, env: {} }), {
    code: 'ERR_STALE_MESH',
    message: /^no running mesh \(stale \.skiff\/mesh\.json/,
  });
});

test('a file that is not a record is refused with its path', () => {
  const bad = path.join(tmp, 'bad');
  mkdirSync(path.join(bad, '.skiff'), { recursive: true });
  writeFileSync(meshFileIn(bad), '{"hello": 1}');
  assert.throws(() => locateMesh({ cwd: bad, env: {} }), {
    code: 'ERR_BAD_RECORD',
    message: /is not a skiff mesh record/,
  });
});
