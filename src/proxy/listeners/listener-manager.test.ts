// Listeners with real sockets: TLS inspection and SNI filter chains, the default chain, HTTP/1.1
// and HTTP/2 on one port (codec AUTO), internal listeners, and LDS updates in place.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { after, test } from 'node:test';
import { parseClientHello } from '../filters/listener/tls_inspector/client-hello.js';
import {
  backend,
  connect,
  dataPlane,
  readAll,
  socketListener,
  staticCluster,
  tcpProxyFilter,
  until,
} from './testing.js';

type Obj = Record<string, unknown>;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const TLS_INSPECTOR = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  },
};

function directHcm(body: string, extra: Obj = {}): Obj {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type':
        'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'h',
      route_config: {
        name: 'r',
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                direct_response: { status: 200, body: { inline_string: body } },
              },
            ],
          },
        ],
      },
      http_filters: [
        {
          name: 'envoy.filters.http.router',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
          },
        },
      ],
      ...extra,
    },
  };
}

/** The ClientHello node:tls sends for `servername` (captured, so no certificate is needed). */
async function clientHello(servername: string): Promise<Buffer> {
  let resolve!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolve = r));
  const b = await backend((s) => {
    let all = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      all = Buffer.concat([all, c]);
      if (parseClientHello(all).done) {
        resolve(all);
        s.destroy();
      }
    });
  });
  const c = tls.connect({ host: '127.0.0.1', port: b.port, servername, rejectUnauthorized: false });
  c.on('error', () => undefined);
  const hello = await got;
  c.destroy();
  b.close();
  return hello;
}

/** A backend that checks it got the ClientHello untouched, answers its name and closes. */
async function sniBackend(name: string, expected: Map<string, Buffer>) {
  const b = await backend((s) => {
    let all = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      all = Buffer.concat([all, c]);
      const r = parseClientHello(all);
      if (!r.done) return;
      const intact = expected.get(r.info.serverName)?.equals(all) ?? false;
      s.end(`${name} ${r.info.serverName} ${intact ? 'intact' : 'altered'}`);
    });
  });
  cleanups.push(b.close);
  return b;
}

test('tls_inspector and SNI filter chains: the ClientHello reaches the chosen backend intact', async () => {
  const hellos = new Map<string, Buffer>();
  for (const sni of ['a.example.com', 'www.b.example.com', 'c.example.org'])
    hellos.set(sni, await clientHello(sni));
  const a = await sniBackend('A', hellos);
  const b = await sniBackend('B', hellos);
  const dp = dataPlane([staticCluster('a', [a.port]), staticCluster('b', [b.port])]);
  cleanups.push(() => dp.close());
  const [port = 0] = await dp.apply([
    socketListener('sni', {
      listener_filters: [TLS_INSPECTOR],
      filter_chains: [
        {
          filter_chain_match: { server_names: ['a.example.com'] },
          filters: [tcpProxyFilter({ cluster: 'a' })],
        },
        {
          filter_chain_match: { server_names: ['*.b.example.com'] },
          filters: [tcpProxyFilter({ cluster: 'b' })],
        },
      ],
    }),
  ]);
  const ask = async (sni: string) => {
    const s = connect(port);
    const answer = readAll(s);
    s.write(hellos.get(sni) ?? Buffer.alloc(0));
    return answer;
  };
  assert.equal(await ask('a.example.com'), 'A a.example.com intact');
  assert.equal(await ask('www.b.example.com'), 'B www.b.example.com intact');
  // No chain for this name and no default chain: closed, and counted.
  assert.equal(await ask('c.example.org'), '');
  assert.equal(dp.listeners.listeners()[0]?.stats.no_filter_chain_match, 1);
  // Plaintext is raw_buffer at once (no wait for a hello that never comes), and matches nothing.
  const plain = connect(port);
  const closed = readAll(plain);
  plain.write('GET / HTTP/1.1\r\n\r\n');
  assert.equal(await closed, '');
});

test('codec AUTO: HTTP/1.1 and HTTP/2 with prior knowledge on one port', async () => {
  const dp = dataPlane([]);
  cleanups.push(() => dp.close());
  const [port = 0] = await dp.apply([
    socketListener('http', { filter_chains: [{ filters: [directHcm('hello')] }] }),
  ]);
  const h1 = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(h1.status, 200);
  assert.equal(await h1.text(), 'hello');
  const session = http2.connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => session.close());
  const h2 = await new Promise<{ status: unknown; body: string }>((resolve, reject) => {
    const s = session.request({ ':path': '/' });
    let status: unknown;
    let body = '';
    s.on('response', (h) => (status = h[':status']));
    s.setEncoding('utf8');
    s.on('data', (c: string) => (body += c));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
  });
  assert.deepEqual(h2, { status: 200, body: 'hello' });
  // codec_type HTTP1 never takes HTTP/2.
  const [h1only = 0] = await dp.apply([
    socketListener('h1', {
      filter_chains: [{ filters: [directHcm('x', { codec_type: 'HTTP1' })] }],
    }),
  ]);
  const raw = connect(h1only);
  const refused = readAll(raw);
  raw.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  assert.match(await refused, /^HTTP\/1\.1 400/);
});

test('an internal listener takes connections handed to it; tcp_proxy to one hands over', async () => {
  const b = await backend((s) => s.end('behind the internal listener'));
  cleanups.push(b.close);
  const dp = dataPlane([staticCluster('real', [b.port]), staticCluster('to-internal', ['inner'])]);
  cleanups.push(() => dp.close());
  const [front = 0] = await dp.apply([
    socketListener('front', {
      filter_chains: [{ filters: [tcpProxyFilter({ cluster: 'to-internal' })] }],
    }),
    {
      name: 'inner',
      address: { envoy_internal_address: { server_listener_name: 'inner' } },
      internal_listener: {},
      filter_chains: [{ filters: [tcpProxyFilter({ cluster: 'real' })] }],
    },
  ]);
  assert.equal(await readAll(connect(front)), 'behind the internal listener');
  const inner = dp.listeners.listeners().find((l) => l.name === 'inner');
  assert.equal(inner?.stats.downstream_cx_total, 1);
  assert.equal(
    dp.listeners.handoff('nowhere', new net.Socket(), {
      authority: 'x:1',
      port: 1,
      head: Buffer.alloc(0),
    }),
    false,
  );
});

test('an LDS update keeps the socket and swaps the chain: open HTTP connections follow', async () => {
  const dp = dataPlane([]);
  cleanups.push(() => dp.close());
  const l = (body: string) =>
    socketListener('http', { filter_chains: [{ name: 'c', filters: [directHcm(body)] }] });
  const [port = 0] = await dp.apply([l('one')]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  const get = () =>
    new Promise<string>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', agent }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve(t));
        })
        .on('error', reject);
    });
  assert.equal(await get(), 'one');
  const [again] = await dp.apply([l('two')]);
  assert.equal(again, port, 'same socket');
  assert.equal(await get(), 'two', 'the kept-alive connection uses the new chain');
  await until(
    'one connection all along',
    () => dp.listeners.listeners()[0]?.stats.downstream_cx_total === 1,
  );
});
