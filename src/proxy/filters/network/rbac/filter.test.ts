// Network RBAC on real sockets: an allowed connection reaches the terminal filter; a denied one
// is closed before the terminal filter (so the upstream) sees it; LOG and shadow never close.
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { ConnectionInfo, NetworkFilter } from '../../../listeners/connection.js';
import { compileNetworkRbac } from './config.js';
import { NetworkRbacFilter } from './filter.js';

type Obj = Record<string, unknown>;

const onPort = (port: number) => ({
  permissions: [{ destination_port: port }],
  principals: [{ any: true }],
});

/** Accepts one connection through `filter`; resolves with whether the inner filter got it. */
async function connectThrough(configs: Obj[]): Promise<{ reached: boolean; closed: boolean }> {
  let reached = false;
  const inner: NetworkFilter = {
    onConnection(socket: Socket) {
      reached = true;
      socket.end('hello\n');
    },
  };
  const filter = new NetworkRbacFilter(configs.map(compileNetworkRbac), inner);
  const server = net.createServer((socket) => {
    const conn: ConnectionInfo = {
      listenerName: 'l',
      localPort: socket.localPort ?? 0,
      localAddress: socket.localAddress ?? '',
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      transportProtocol: 'raw_buffer',
      serverName: '',
      applicationProtocols: [],
      tunnelAuthority: undefined,
      startTime: 0,
    };
    filter.onConnection(socket, conn);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const text = await new Promise<string>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('close', () => resolve(got));
    c.on('error', () => undefined);
  });
  server.close();
  return { reached, closed: text === '' };
}

describe('network RBAC', () => {
  it('ALLOW: a matching connection passes, another is closed before the terminal filter', async () => {
    const allowAll = {
      stat_prefix: 'tcp.',
      rules: {
        action: 'ALLOW',
        policies: {
          p: {
            permissions: [{ any: true }],
            principals: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }],
          },
        },
      },
    };
    assert.deepEqual(await connectThrough([allowAll]), { reached: true, closed: false });
    const none = { stat_prefix: 'tcp.', rules: { action: 'ALLOW', policies: { p: onPort(1) } } };
    assert.deepEqual(await connectThrough([none]), { reached: false, closed: true });
  });

  it('DENY then ALLOW in order; LOG and shadow rules never close', async () => {
    const deny = {
      stat_prefix: 'tcp.',
      rules: {
        action: 'DENY',
        policies: { d: { permissions: [{ any: true }], principals: [{ any: true }] } },
      },
    };
    const log = {
      stat_prefix: 'tcp.',
      rules: {
        action: 'LOG',
        policies: { d: { permissions: [{ any: true }], principals: [{ any: true }] } },
      },
    };
    const shadow = {
      stat_prefix: 'tcp.',
      shadow_rules: {
        action: 'DENY',
        policies: { d: { permissions: [{ any: true }], principals: [{ any: true }] } },
      },
    };
    assert.deepEqual(await connectThrough([log, shadow]), { reached: true, closed: false });
    assert.deepEqual(await connectThrough([log, deny]), { reached: false, closed: true });
  });

  it('needs a stat_prefix, as Envoy does', () => {
    assert.throws(() => compileNetworkRbac({ rules: {} }), /stat_prefix/);
  });
});
