// The spine, end to end through real sidecars: an 80/20 split measured over 2000 requests, the
// file rewritten to 0/100 and every request on v2 within 2 s with none failing on the way; the
// control plane stopped (proxies keep serving) and started again (they reconnect and resync).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import {
  IDLE_APP,
  SKIFF,
  VERSION_SERVER,
  closeAgent,
  eventually,
  getJson,
  synced,
  tempTree,
  viaProxy,
} from './support/skiff.js';

const workload = (name: string, labels: string, command: string, ports: boolean) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  command: [node, ${command}]
  env: { VERSION: ${name} }
  ${ports ? 'ports: [{ name: http, containerPort: 9080 }]' : ''}
`;

const MESH = [
  `
apiVersion: v1
kind: Service
metadata: { name: echo }
spec:
  selector: { app: echo }
  ports: [{ name: http, port: 9080 }]
`,
  workload('echo-v1', 'app: echo, version: v1', 'server.mjs', true),
  workload('echo-v2', 'app: echo, version: v2', 'server.mjs', true),
  workload('client', 'app: client', 'idle.mjs', false),
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo }
spec:
  host: echo
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`,
].join('---');

const split = (v1: number, v2: number) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
    - route:
        - { destination: { host: echo, subset: v1 }, weight: ${v1} }
        - { destination: { host: echo, subset: v2 }, weight: ${v2} }
`;

describe('the spine through real sidecars', { timeout: 300_000 }, () => {
  let dir: string;
  let mesh: Mesh;
  let outbound: number;
  const get = () => viaProxy(outbound, 'http://echo:9080/');

  before(async () => {
    dir = tempTree('skiff-spine-', {
      'mesh.yaml': MESH,
      'routing.yaml': split(80, 20),
      'server.mjs': VERSION_SERVER,
      'idle.mjs': IDLE_APP,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
    });
    const client = mesh.record.instances.find((i) => i.workloadName === 'client');
    assert.ok(client, 'the client instance is in the mesh record');
    outbound = client.outboundPort;
    // Every proxy (three sidecars and the gateway) has acknowledged its config.
    await eventually('all proxies synced', async () =>
      synced(await getJson(`http://${mesh.record.controlPlane.httpAddress}/debug/syncz`), 4),
    );
  });

  after(async () => {
    closeAgent();
    await mesh?.stop();
  });

  test('an 80/20 VirtualService splits 2000 requests 80/20 (±5%)', async () => {
    const counts = { v1: 0, v2: 0, other: 0 };
    const total = 2000;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const r = await get();
        assert.equal(r.status, 200, r.body);
        if (r.body.startsWith('echo-v1 ')) counts.v1++;
        else if (r.body.startsWith('echo-v2 ')) counts.v2++;
        else counts.other++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal(counts.other, 0);
    const share = counts.v1 / total;
    assert.ok(
      Math.abs(share - 0.8) <= 0.05,
      `v1 got ${(share * 100).toFixed(1)}% of ${total} (${JSON.stringify(counts)})`,
    );
  });

  test('rewriting the file to 0/100 moves every request to v2 within 2 s, none failing', async () => {
    const results: { at: number; version: string; ok: boolean; detail: string }[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const at = Date.now();
        try {
          const r = await get();
          results.push({
            at,
            version: r.body.split(' ')[0] ?? '',
            ok: r.status === 200,
            detail: `${r.status} ${r.body}`,
          });
        } catch (e) {
          results.push({ at, version: '', ok: false, detail: String(e) });
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await eventually('traffic before the change', () => results.length >= 200);
    const changedAt = Date.now();
    writeFileSync(path.join(dir, 'routing.yaml'), split(0, 100));
    await eventually(
      '2.5 s of traffic after the change',
      () => Date.now() - changedAt > 2500 && results.at(-1)!.at - changedAt > 2500,
    );
    running = false;
    await Promise.all(workers);
    const failures = results.filter((r) => !r.ok);
    assert.deepEqual(failures, [], 'no request fails during the switch');
    const lateV1 = results.filter((r) => r.at >= changedAt + 2000 && r.version !== 'echo-v2');
    assert.deepEqual(lateV1, [], 'every request started 2 s after the change went to v2');
    const lastV1 = results.filter((r) => r.version === 'echo-v1').at(-1);
    const switchMs = lastV1 ? Math.max(0, lastV1.at - changedAt) : 0;
    console.log(
      `# switch to 0/100 took effect ${switchMs} ms after the file was written (${results.length} requests, 0 failed)`,
    );
  });

  test('proxies keep serving while the control plane is killed, and resync when it is back', async () => {
    const cp = mesh.process('control-plane');
    assert.ok(cp?.pid, 'the control plane is supervised');
    // Killed outright (no goodbye on its streams); stop() keeps the supervisor from restarting
    // it until the test says so.
    process.kill(cp.pid, 'SIGKILL');
    await cp.stop();
    const admin = mesh.record.instances.find((i) => i.workloadName === 'client')!.adminPort;
    await eventually('the client sidecar sees the control plane gone', async () => {
      const info = await getJson<{ xds: { connected: boolean } }>(
        `http://127.0.0.1:${admin}/server_info`,
      );
      return !info.xds.connected;
    });
    for (let i = 0; i < 100; i++) {
      const r = await get();
      assert.equal(r.status, 200, `request ${i} while the control plane is away: ${r.body}`);
    }
    cp.start();
    // The restarted control plane has lost its connections; the proxies come back on their own.
    await eventually(
      'all proxies reconnected and synced',
      async () =>
        synced(await getJson(`http://${mesh.record.controlPlane.httpAddress}/debug/syncz`), 4),
      60_000,
    );
    // And they follow config again: back to 100/0.
    writeFileSync(path.join(dir, 'routing.yaml'), split(100, 0));
    await eventually(
      'traffic follows the new split',
      async () =>
        (await get()).body.startsWith('echo-v1 ') &&
        (await get()).body.startsWith('echo-v1 ') &&
        (await get()).body.startsWith('echo-v1 '),
    );
  });
});
