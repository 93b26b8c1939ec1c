import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import { parseClientHello } from './client-hello.js';

/** The first bytes a real TLS client (node:tls) sends, captured by a plain TCP server. */
async function clientHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  let resolve!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolve = r));
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (parseClientHello(all).done) {
        resolve(all);
        s.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
  c.on('error', () => undefined);
  const bytes = await got;
  c.destroy();
  server.close();
  return bytes;
}

test('SNI and ALPN from a real ClientHello; TLS detected', async () => {
  const hello = await clientHello({
    servername: 'A.Example.com',
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  const r = parseClientHello(hello);
  assert.ok(r.done);
  assert.deepEqual(r.info, {
    transportProtocol: 'tls',
    serverName: 'a.example.com',
    applicationProtocols: ['h2', 'http/1.1'],
  });
  // No SNI (an IP address target), no ALPN: still TLS.
  const bare = parseClientHello(await clientHello({ servername: '' }));
  assert.ok(bare.done);
  assert.deepEqual(bare.info, {
    transportProtocol: 'tls',
    serverName: '',
    applicationProtocols: [],
  });
});

test('partial hellos wait for more; anything else is raw_buffer at once', async () => {
  const hello = await clientHello({ servername: 'x.test' });
  for (const n of [0, 1, 4, 5, 20, hello.length - 1]) {
    assert.equal(parseClientHello(hello.subarray(0, n)).done, false, `${n} bytes`);
  }
  // Plaintext protocols: decided on the first byte, so a client-first protocol is not held up.
  for (const text of ['G', 'GET / HTTP/1.1\r\n', 'PRI * HTTP/2.0', 'SSH-2.0', '\x16\x02\x00']) {
    const r = parseClientHello(Buffer.from(text, 'latin1'));
    assert.ok(r.done, text);
    assert.equal(r.info.transportProtocol, 'raw_buffer', text);
  }
  // A handshake record that is not a ClientHello (type 2) is not one to inspect.
  assert.deepEqual(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])), {
    done: true,
    info: { transportProtocol: 'raw_buffer', serverName: '', applicationProtocols: [] },
  });
});

test('a hello split across two records is read whole', async () => {
  const hello = await clientHello({ servername: 'split.test', ALPNProtocols: ['h2'] });
  const body = hello.subarray(5);
  const cut = 40;
  const record = (part: Buffer) =>
    Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part]);
  const split = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
  const r = parseClientHello(split);
  assert.ok(r.done);
  assert.equal(r.info.serverName, 'split.test');
  assert.deepEqual(r.info.applicationProtocols, ['h2']);
  assert.equal(parseClientHello(split.subarray(0, 5 + cut + 3)).done, false);
});
