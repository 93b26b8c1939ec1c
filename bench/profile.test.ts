// Self time from a V8 CPU profile: a hand-made profile with known samples.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { profileFileFor, shortUrl, summarizeProfile, type CpuProfile } from './profile.js';

const frame = (functionName: string, url = '', lineNumber = -1) => ({
  functionName,
  url,
  lineNumber,
});

const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('(idle)') },
    {
      id: 3,
      callFrame: frame('forward', 'file:///repo/dist/src/proxy/filters/http/router/filter.js', 63),
    },
    {
      id: 4,
      callFrame: frame('parseHeaders', 'file:///repo/node_modules/undici/lib/core/util.js', 435),
    },
    { id: 5, callFrame: frame('writev') },
  ],
  // 10 samples over 10 ms: 1 ms each.
  startTime: 0,
  endTime: 10_000,
  samples: [2, 2, 2, 2, 3, 3, 4, 5, 5, 5],
};

test('self time per function and file, idle left out of the busy share', () => {
  const s = summarizeProfile(PROFILE);
  assert.equal(s.wallMs, 10);
  assert.equal(s.busyMs, 6);
  assert.deepEqual(
    s.functions.map((f) => [f.name, f.ms, f.share]),
    [
      ['writev', 3, 0.5],
      ['forward src/proxy/filters/http/router/filter.js:64', 2, 2 / 6],
      ['parseHeaders undici/lib/core/util.js:436', 1, 1 / 6],
    ],
  );
  assert.equal(s.files[1]?.name, 'src/proxy/filters/http/router/filter.js');
});

test('short URLs: packages by name, skiff by its source path, node built-ins as they are', () => {
  assert.equal(
    shortUrl('file:///x/node_modules/undici/lib/core/util.js'),
    'undici/lib/core/util.js',
  );
  assert.equal(shortUrl('file:///work/main/dist/src/proxy/main.js'), 'src/proxy/main.js');
  assert.equal(shortUrl('node:_http_server'), 'node:_http_server');
});

test('finds the profile of a pid among node --cpu-prof file names', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-prof-'));
  try {
    writeFileSync(path.join(dir, 'CPU.20250101.120000.4242.0.001.cpuprofile'), '{}');
    writeFileSync(path.join(dir, 'CPU.20250101.120000.42.0.001.cpuprofile'), '{}');
    assert.equal(
      profileFileFor(dir, 42),
      path.join(dir, 'CPU.20250101.120000.42.0.001.cpuprofile'),
    );
    assert.equal(profileFileFor(dir, 7), undefined);
    assert.equal(profileFileFor(path.join(dir, 'nope'), 42), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
