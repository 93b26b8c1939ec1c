// applyKeepalive on real loopback connections: the kernel reports the time, interval and probe
// count the cluster asked for (read back through the addon's getKeepAliveParams).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectTcp } from '../filters/network/tcp_proxy/connect.js';
import type { Host } from './host.js';
import { applyKeepalive, keepaliveParams, keepaliveParamsOf } from './keepalive.js';

describe('applyKeepalive', () => {
  let server: net.Server;
  let port = 0;
  const accepted: net.Socket[] = [];
  before(async () => {
    server = net.createServer((s) => accepted.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const connected = (socket: net.Socket) =>
    new Promise<net.Socket>((resolve, reject) => {
      if (!socket.connecting) resolve(socket);
      socket.once('connect', () => resolve(socket)).once('error', reject);
    });

  it('sets time, interval and probes on a socket still connecting (applied on connect)', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    try {
      applyKeepalive(socket, { timeS: 7, intervalS: 3, probes: 4 });
      await connected(socket);
      assert.deepEqual(keepaliveParams(socket), {
        enabled: true,
        timeSec: 7,
        intervalSec: 3,
        probes: 4,
      });
    } finally {
      socket.destroy();
    }
  });

  it('sets them on a connected socket; another process reads the same (pidfd_getfd)', async () => {
    const socket = await connected(net.connect({ host: '127.0.0.1', port }));
    try {
      const before = keepaliveParams(socket);
      assert.equal(before.enabled, false, 'no keepalive unless asked');
      applyKeepalive(socket, { timeS: 1, intervalS: 1, probes: 2 });
      const want = { enabled: true, timeSec: 1, intervalSec: 1, probes: 2 };
      assert.deepEqual(keepaliveParams(socket), want);
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      assert.deepEqual(keepaliveParamsOf(process.pid, fd), want);
    } finally {
      socket.destroy();
    }
  });

  it('0 leaves the kernel value; values past Linux limits are capped; none = no keepalive', async () => {
    const a = await connected(net.connect({ host: '127.0.0.1', port }));
    const b = await connected(net.connect({ host: '127.0.0.1', port }));
    try {
      const kernel = keepaliveParams(a);
      applyKeepalive(a, { timeS: 0, intervalS: 2, probes: 0 });
      assert.deepEqual(keepaliveParams(a), {
        enabled: true,
        timeSec: kernel.timeSec,
        intervalSec: 2,
        probes: kernel.probes,
      });
      applyKeepalive(b, { timeS: 100_000, intervalS: 100_000, probes: 1000 });
      assert.deepEqual(keepaliveParams(b), {
        enabled: true,
        timeSec: 32767,
        intervalSec: 32767,
        probes: 127,
      });
      applyKeepalive(a, undefined);
      assert.equal(keepaliveParams(a).intervalSec, 2, 'unchanged');
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('connectTcp (tcp_proxy, CONNECT tunnels) applies the cluster keepalive', async () => {
    const host = { address: '127.0.0.1', port } as Host;
    const socket = await connectTcp(host, 5000, { timeS: 9, intervalS: 2, probes: 3 });
    try {
      assert.deepEqual(keepaliveParams(socket), {
        enabled: true,
        timeSec: 9,
        intervalSec: 2,
        probes: 3,
      });
    } finally {
      socket.destroy();
    }
    const plain = await connectTcp(host, 5000);
    try {
      assert.equal(keepaliveParams(plain).enabled, false);
    } finally {
      plain.destroy();
    }
  });
});
