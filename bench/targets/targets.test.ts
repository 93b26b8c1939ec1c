// Each target for real: the peers' generated configs pass their own checkers, a request in
// forward-proxy form crosses both hops to the app, and stopping leaves no process behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pidAlive } from '../../src/launcher/pids.js';
import { PortAllocator } from '../../src/launcher/ports.js';
import { waitFor } from '../../src/launcher/wait.js';
import { Cleanup } from '../cleanup.js';
import { answers } from '../measure.js';
import { which } from '../tools.js';
import { startApp, type StandaloneApp } from './app.js';
import { haproxyConfig, startHaproxyPair } from './haproxy.js';
import { nginxConfig, startNginxPair } from './nginx.js';
import { startSkiffPair } from './skiff.js';
import type { RunningTarget } from './types.js';

const NGINX = which('nginx');
const HAPROXY = which('haproxy');

async function allGone(pids: readonly number[]): Promise<void> {
  await waitFor(() => pids.every((p) => !pidAlive(p)), {
    timeoutMs: 15_000,
    what: `${pids} to exit`,
  });
}

describe('bench targets', () => {
  let dir = '';
  const cleanup = new Cleanup();
  const ports = new PortAllocator();
  let app: StandaloneApp;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-test-'));
    app = await startApp(dir, ports, cleanup);
  });

  after(async () => {
    await cleanup.run();
    ports.release();
    rmSync(dir, { recursive: true, force: true });
  });

  async function crossesAndStops(target: RunningTarget): Promise<void> {
    assert.ok(target.load.proxiedUrl, 'load goes through the proxy in forward-proxy form');
    await waitFor(() => answers(target.load), {
      timeoutMs: 60_000,
      what: `${target.name} to answer`,
    });
    const pids = target.hops.flatMap((h) => h.pids);
    assert.deepEqual(
      target.hops.map((h) => h.label),
      ['outbound', 'inbound'],
    );
    assert.ok(
      target.hops.every((h) => h.pids.length > 0),
      'every hop names its processes',
    );
    await target.stop();
    await allGone(pids);
  }

  test('the standalone app answers directly', async () => {
    assert.ok(await answers({ connectUrl: `http://127.0.0.1:${app.port}` }));
  });

  test(
    'nginx -t accepts the generated config',
    { skip: !NGINX && 'nginx is not installed' },
    () => {
      const hop = path.join(dir, 'nginx-check');
      mkdirSync(path.join(hop, 'tmp'), { recursive: true });
      const conf = path.join(hop, 'nginx.conf');
      writeFileSync(conf, nginxConfig({ dir: hop, listenPort: 1, upstreamPort: 2 }));
      const r = spawnSync(
        NGINX!,
        ['-t', '-p', hop, '-c', conf, '-e', path.join(hop, 'error.log')],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, r.stderr);
    },
  );

  test(
    'haproxy -c accepts the generated config',
    { skip: !HAPROXY && 'haproxy is not installed' },
    () => {
      const conf = path.join(dir, 'haproxy-check.cfg');
      writeFileSync(conf, haproxyConfig({ dir, listenPort: 1, upstreamPort: 2, originForm: true }));
      const r = spawnSync(HAPROXY!, ['-c', '-f', conf], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr + r.stdout);
    },
  );

  test(
    'nginx pair: master and worker per hop, a request crosses both',
    { skip: !NGINX && 'nginx is not installed' },
    async () => {
      const target = await startNginxPair({
        binary: NGINX!,
        dir,
        appPort: app.port,
        ports,
        cleanup,
      });
      assert.ok(target.hops.every((h) => h.pids.length === 2));
      await crossesAndStops(target);
    },
  );

  test(
    'haproxy pair: a request crosses both',
    { skip: !HAPROXY && 'haproxy is not installed' },
    async () => {
      const target = await startHaproxyPair({
        binary: HAPROXY!,
        dir,
        appPort: app.port,
        ports,
        cleanup,
      });
      await crossesAndStops(target);
    },
  );

  test('skiff pair: a mesh whose client sidecar takes the load', { timeout: 240_000 }, async () => {
    const target = await startSkiffPair({ dir, cleanup });
    const mesh = target.mesh.record;
    assert.deepEqual(mesh.instances.map((i) => i.workloadName).sort(), ['client', 'echo']);
    const client = mesh.instances.find((i) => i.workloadName === 'client');
    assert.equal(target.load.connectUrl, `http://127.0.0.1:${client?.outboundPort}`);
    await crossesAndStops(target);
  });
});
