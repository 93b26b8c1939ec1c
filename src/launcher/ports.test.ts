// PortAllocator: free ports only, never twice, never to two allocators on one machine at once.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PortAllocator, canBind } from './ports.js';

const claimDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-ports-test-'));
after(() => rmSync(claimDir, { recursive: true, force: true }));

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port }, () => resolve(s));
  });
}

test('allocates distinct ports in range that can be bound', async () => {
  const ports = new PortAllocator({ claimDir });
  const got: number[] = [];
  for (let i = 0; i < 40; i++) got.push(await ports.allocate());
  assert.equal(new Set(got).size, got.length);
  for (const p of got) {
    assert.ok(p >= 20000 && p <= 32767, `${p} in 20000-32767`);
    assert.ok(await canBind('127.0.0.1', p));
  }
  ports.release();
});

test('skips a port something listens on', async () => {
  const busy = await listen(0);
  const busyPort = (busy.address() as net.AddressInfo).port;
  // A random source that offers the busy port first, then a free neighbour range.
  const free = await listen(0);
  const freePort = (free.address() as net.AddressInfo).port;
  await new Promise((r) => free.close(r));
  const seq = [busyPort, freePort];
  const ports = new PortAllocator({
    claimDir: null,
    min: Math.min(busyPort, freePort),
    max: Math.max(busyPort, freePort),
    random: () => {
      const next = seq.shift() ?? freePort;
      return (next - Math.min(busyPort, freePort) + 0.5) / (Math.abs(busyPort - freePort) + 1);
    },
  });
  assert.equal(await ports.allocate(), freePort);
  await new Promise((r) => busy.close(r));
});

test('never hands out the same port twice, and fails when the range is used up', async () => {
  const probe = await listen(0);
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const ports = new PortAllocator({ claimDir, min: port, max: port, maxAttempts: 5 });
  assert.equal(await ports.allocate(), port);
  await assert.rejects(ports.allocate(), { code: 'ERR_NO_FREE_PORT' });
  ports.release();
});

test('two allocators sharing a claim dir never hand out the same port', async () => {
  const a = new PortAllocator({ claimDir, min: 24000, max: 24019 });
  const b = new PortAllocator({ claimDir, min: 24000, max: 24019 });
  const got = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).allocate()));
  assert.equal(new Set(got).size, got.length);
  for (const p of got) assert.ok(existsSync(path.join(claimDir, String(p))));
  // Released claims are gone, so other launchers may take the ports again.
  a.release();
  b.release();
  for (const p of got) assert.ok(!existsSync(path.join(claimDir, String(p))));
});

test('a claim left by a dead process is taken over; a live one is not', async () => {
  const probe = await listen(0);
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  writeFileSync(path.join(claimDir, String(port)), String(process.pid)); // alive: us
  const live = new PortAllocator({ claimDir, min: port, max: port, maxAttempts: 3 });
  await assert.rejects(live.allocate(), { code: 'ERR_NO_FREE_PORT' });
  writeFileSync(path.join(claimDir, String(port)), '999999999'); // no such pid
  const stale = new PortAllocator({ claimDir, min: port, max: port, maxAttempts: 3 });
  assert.equal(await stale.allocate(), port);
  assert.equal(readFileSync(path.join(claimDir, String(port)), 'utf8'), String(process.pid));
  stale.release();
});

test('reserve takes a fixed port or says it is in use', async () => {
  const busy = await listen(0);
  const busyPort = (busy.address() as net.AddressInfo).port;
  const ports = new PortAllocator({ claimDir });
  await assert.rejects(ports.reserve(busyPort, 'gateway'), {
    code: 'ERR_PORT_IN_USE',
    message: new RegExp(`port ${busyPort} \\(gateway\\) is in use`),
  });
  await new Promise((r) => busy.close(r));
  assert.equal(await ports.reserve(busyPort, 'gateway'), busyPort);
  ports.release();
});

test('a new allocator sweeps away the claims of dead launchers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-ports-sweep-'));
  try {
    writeFileSync(path.join(dir, '21000'), '999999999');
    writeFileSync(path.join(dir, '21001'), String(process.pid));
    new PortAllocator({ claimDir: dir });
    assert.ok(!existsSync(path.join(dir, '21000')), 'dead claim removed');
    assert.ok(existsSync(path.join(dir, '21001')), 'live claim kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
