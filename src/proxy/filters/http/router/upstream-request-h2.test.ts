// The router over HTTP/2 upstreams, through a real listener: trailers both ways, trailers-only
// responses kept as one HEADERS frame, `te: trailers`, stream resets, and "use the downstream's
// protocol" clusters.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  dataPlane,
  hcmFilter,
  routeAllTo,
  socketListener,
  staticCluster,
  until,
  upstreamHttp,
} from '../../../listeners/testing.js';
import { isHttp2Preface, prefaceDecided } from '../../network/http_connection_manager/codec.js';
import { toHttp2Request } from './upstream-request-h2.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An h2c backend (and HTTP/1.1 on the same port), answering by path. */
async function backendServer(): Promise<number> {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    if (path === '/http-version') {
      stream.respond({ ':status': 200 });
      stream.end('http/2.0');
      return;
    }
    if (path === '/trailers-only') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' },
        { endStream: true },
      );
      return;
    }
    if (path === '/refuse') {
      stream.on('error', () => {}); // closing with an error code errors our own end too
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    let body = '';
    let requestTrailers: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('trailers', (t) => (requestTrailers = t));
    stream.on('end', () => {
      stream.respond(
        { ':status': 200, 'x-version': 'h2', 'x-te': String(headers['te'] ?? '') },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () =>
        stream.sendTrailers({
          'x-trailer': 'bye',
          'x-echo-trailer': String(requestTrailers['x-req'] ?? ''),
        }),
      );
      stream.end(`${String(headers[':method'])} ${path} ${body}`);
    });
  });
  const h1 = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`http/${req.httpVersion}`));
  });
  const server = net.createServer((socket) => {
    let data = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (!prefaceDecided(data)) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(data);
      if (isHttp2Preface(data)) h2.emit('connection', socket);
      else {
        h1.emit('connection', socket);
        socket.resume(); // the HTTP/1.1 server reads the given-back bytes only once flowing
      }
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.close();
    h2.close();
    h1.close();
  });
  return (server.address() as net.AddressInfo).port;
}

let proxyPort = 0;
let dp: ReturnType<typeof dataPlane>;

before(async () => {
  const port = await backendServer();
  dp = dataPlane([
    staticCluster('h2', [port], upstreamHttp('http2')),
    staticCluster('down', [port], upstreamHttp('downstream')),
    staticCluster('h1', [port]),
  ]);
  cleanups.push(() => dp.close());
  const vhost = (name: string) => ({
    name,
    domains: [name],
    routes: [{ match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }],
  });
  const rc = routeAllTo('h1');
  rc['virtual_hosts'] = [vhost('h2'), vhost('down'), ...(rc['virtual_hosts'] as object[])];
  [proxyPort = 0] = await dp.apply([
    socketListener('l', { filter_chains: [{ filters: [hcmFilter(rc)] }] }),
  ]);
});

function h2request(
  headers: http2.OutgoingHttpHeaders,
  body?: string,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<{
  head: http2.IncomingHttpHeaders;
  flags: number;
  body: string;
  trailers: http2.IncomingHttpHeaders | undefined;
}> {
  const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
  return new Promise((resolve, reject) => {
    const s = session.request(headers, {
      endStream: body === undefined,
      waitForTrailers: !!trailers,
    });
    if (trailers) s.on('wantTrailers', () => s.sendTrailers(trailers));
    let head: http2.IncomingHttpHeaders = {};
    let flags = 0;
    let text = '';
    let t: http2.IncomingHttpHeaders | undefined;
    s.on('response', (h, f) => {
      head = h;
      flags = f;
    });
    s.on('trailers', (x) => (t = x));
    s.setEncoding('utf8');
    s.on('data', (c: string) => (text += c));
    s.on('end', () => {
      session.close();
      resolve({ head, flags, body: text, trailers: t });
    });
    s.on('error', (e) => {
      session.close();
      reject(e);
    });
    if (body !== undefined) s.end(body);
  });
}

test('HTTP/2 upstream: body and trailers both ways, te: trailers kept', async () => {
  const r = await h2request(
    { ':method': 'POST', ':path': '/echo', ':authority': 'h2', te: 'trailers' },
    'ping',
    { 'x-req': 'from-client' },
  );
  assert.equal(r.head[':status'], 200);
  assert.equal(r.head['x-version'], 'h2');
  assert.equal(r.head['x-te'], 'trailers');
  assert.equal(r.head['server'], 'envoy');
  assert.equal(r.body, 'POST /echo ping');
  assert.equal(r.trailers?.['x-trailer'], 'bye');
  assert.equal(r.trailers?.['x-echo-trailer'], 'from-client');
});

test('a trailers-only response stays one HEADERS frame with END_STREAM', async () => {
  const r = await h2request({
    ':method': 'POST',
    ':path': '/trailers-only',
    ':authority': 'h2',
    'content-type': 'application/grpc',
  });
  assert.equal(r.head['grpc-status'], '5');
  assert.ok(r.flags & http2.constants.NGHTTP2_FLAG_END_STREAM);
});

test('REFUSED_STREAM before the response: 503, flag UR', async () => {
  const before = dp.streams.length;
  const r = await h2request({ ':path': '/refuse', ':authority': 'h2' });
  assert.equal(r.head[':status'], 503);
  assert.match(r.body, /remote refused stream reset/);
  await until('the stream completes', () => dp.streams.length > before);
  assert.ok(dp.streams.at(-1)?.responseFlags.has('UR'));
});

test('use_downstream_protocol: HTTP/2 clients go upstream in HTTP/2, HTTP/1.1 ones in HTTP/1.1', async () => {
  assert.equal(
    (await h2request({ ':path': '/http-version', ':authority': 'down' })).body,
    'http/2.0',
  );
  const h1 = await fetch(`http://127.0.0.1:${proxyPort}/http-version`, {
    headers: { host: 'down' },
  });
  assert.equal(await h1.text(), 'http/1.1');
  // An HTTP/1.1 cluster takes HTTP/2 clients in HTTP/1.1 (pseudo-headers are not headers).
  assert.equal((await h2request({ ':path': '/x', ':authority': 'other' })).body, 'http/1.1');
});

test('the request as HTTP/2 headers: pseudo-headers from the router list, no connection headers', () => {
  const out = toHttp2Request(
    {
      method: 'GET',
      path: '/p?q',
      headers: ['host', 'svc:80', 'x-a', '1', 'connection', 'close', 'x-a', '2', 'Keep-Alive', '5'],
    },
    'trailers, deflate',
  );
  assert.deepEqual(out, {
    ':method': 'GET',
    ':scheme': 'http',
    ':path': '/p?q',
    ':authority': 'svc:80',
    'x-a': ['1', '2'],
    te: 'trailers',
  });
  assert.equal(
    toHttp2Request({ method: 'GET', path: '/', headers: ['host', 'h'] }, undefined)['te'],
    undefined,
  );
});
