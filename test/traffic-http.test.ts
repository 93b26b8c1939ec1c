// VirtualService HTTP route features end to end through real sidecars: matches (uri, scheme,
// method, authority, headers, queryParams, withoutHeaders, ignoreUriCase, port, gateways,
// sourceLabels, sourceNamespace), fault, corsPolicy, headers, mirrors, redirect, directResponse,
// rewrite, delegate, retries, and the response flags they leave. Apps echo what they receive.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import type { InstanceRecord } from '../src/launcher/mesh-record.js';
import {
  SKIFF,
  closeAgent,
  eventually,
  getJson,
  meshSynced,
  send as sendVia,
  tempTree,
  type Answer,
  type SendOptions,
} from './support/skiff.js';
import { ECHO_APP, MESH, type Seen } from './support/traffic-http-mesh.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** A request through a sidecar's HTTP proxy listener (absolute form, as HTTP_PROXY apps send). */
const send = (proxyPort: number, url: string, opts: SendOptions = {}): Promise<Answer> =>
  sendVia(agent, proxyPort, url, opts);

let keyCount = 0;
/** A fresh key: the echo apps record requests by it (x-test-key). */
const newKey = (what: string) => `${what}-${++keyCount}-${Date.now()}`;

describe('VirtualService HTTP features through real sidecars', { timeout: 600_000 }, () => {
  let mesh: Mesh;
  let live: http.Server;
  let liveHits = 0;
  let resetsLeft = 0;
  /** Requests the live server holds (/uo?hold) until the test lets them go. */
  const held: http.ServerResponse[] = [];
  let h2: http2.Http2Server;
  let h2Hits = 0;
  let refusalsLeft = 0;
  const instance = (name: string): InstanceRecord => {
    const i = mesh.record.instances.find((x) => x.workloadName === name);
    assert.ok(i, `instance of ${name}`);
    return i;
  };
  const client = () => instance('client-a').outboundPort;
  /** What the apps of these workloads recorded under `key`. */
  const seen = async (key: string, ...workloads: string[]): Promise<Seen[]> => {
    const out: Seen[] = [];
    for (const w of workloads) {
      const port = instance(w).ports.find((p) => p.name === 'http')?.appPort;
      out.push(
        ...(await getJson<Seen[]>(
          `http://127.0.0.1:${port}/__seen?key=${encodeURIComponent(key)}`,
        )),
      );
    }
    return out;
  };
  /** Sums an admin /stats counter of a sidecar over every line ending with `suffix`. */
  const stat = async (workload: string, suffix: string): Promise<number> => {
    const text = await (
      await fetch(`http://127.0.0.1:${instance(workload).adminPort}/stats`)
    ).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const [name, value] = line.split(': ');
      if (name?.endsWith(suffix)) sum += Number(value);
    }
    return sum;
  };

  before(async () => {
    // An upstream outside the mesh and a port where nothing listens: connect-failure retries.
    live = http.createServer((req, res) => {
      liveHits++;
      if (req.url?.startsWith('/reset') && resetsLeft-- > 0) return void req.socket.destroy();
      if (req.url?.startsWith('/uc')) return void req.socket.destroy();
      if (req.url?.startsWith('/uo?hold')) return void held.push(res);
      res.end('live');
    });
    // An HTTP/2 (h2c) upstream that refuses the first `refusalsLeft` streams (REFUSED_STREAM).
    h2 = http2.createServer();
    h2.on('stream', (stream) => {
      h2Hits++;
      // Closing with REFUSED_STREAM also emits it as the stream's own error.
      stream.on('error', () => undefined);
      if (refusalsLeft-- > 0) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      stream.respond({ ':status': 200 });
      stream.end('h2');
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', () => r()));
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dir = tempTree('skiff-traffic-http-', {
      'mesh.yaml': MESH({
        livePort: (live.address() as AddressInfo).port,
        closedPort,
        h2Port: (h2.address() as AddressInfo).port,
      }),
      'echo.mjs': ECHO_APP,
      'idle.mjs': `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 240_000,
    });
    await meshSynced(mesh, 120_000);
  });

  after(async () => {
    agent.destroy();
    closeAgent();
    await mesh?.stop();
    for (const r of held) r.end();
    live?.close();
    h2?.close();
  });

  describe('match', () => {
    const route = async (url: string, opts: Parameters<typeof send>[2] = {}, port = client()) =>
      (await send(port, url, opts)).headers['x-route'];

    test('uri exact, prefix, regex (a full match) and ignoreUriCase', async () => {
      assert.equal(await route('http://matchy:9080/exact'), 'exact');
      assert.equal(await route('http://matchy:9080/exact/more'), 'default');
      assert.equal(await route('http://matchy:9080/prefix/a/b'), 'prefix');
      assert.equal(await route('http://matchy:9080/regex/42'), 'regex');
      assert.equal(await route('http://matchy:9080/regex/42/x'), 'default');
      assert.equal(await route('http://matchy:9080/iCaSe/x'), 'icase');
      assert.equal(
        await route('http://matchy:9080/Prefix/a'),
        'default',
        'prefix is case sensitive',
      );
    });

    test('method, scheme and authority', async () => {
      assert.equal(await route('http://matchy:9080/m', { method: 'POST', body: 'x' }), 'method');
      assert.equal(await route('http://matchy:9080/m'), 'default');
      assert.equal(await route('http://matchy:9080/scheme'), 'scheme');
      // The rule before it asks for https: a plain http request never matches it.
      assert.equal(await route('http://matchy:9080/scheme-https'), 'scheme');
      assert.equal(await route('http://matchy.default:9080/auth'), 'authority');
      assert.equal(await route('http://matchy:9080/auth'), 'default');
    });

    test('headers exact, prefix, regex; withoutHeaders; fields ANDed, matches ORed, first wins', async () => {
      const h = (v: string) => ({ headers: { 'x-h': v } });
      assert.equal(await route('http://matchy:9080/h', h('a')), 'hdr-exact');
      assert.equal(await route('http://matchy:9080/h', h('pre-x')), 'hdr-prefix');
      assert.equal(await route('http://matchy:9080/h', h('r12')), 'hdr-regex');
      assert.equal(await route('http://matchy:9080/h', h('r12x')), 'default');
      assert.equal(await route('http://matchy:9080/without'), 'without');
      assert.equal(
        await route('http://matchy:9080/without', { headers: { 'x-skip': '1' } }),
        'default',
      );
      assert.equal(
        await route('http://matchy:9080/without', { headers: { 'x-skip': '2' } }),
        'without',
      );
      // `both` needs the path and the header; `either` takes one of its two matches.
      assert.equal(await route('http://matchy:9080/both', { headers: { 'x-and': '1' } }), 'both');
      assert.equal(await route('http://matchy:9080/both'), 'default');
      assert.equal(await route('http://matchy:9080/either-one'), 'either');
      assert.equal(await route('http://matchy:9080/either-two'), 'either');
      // Two matches of several fields each: every field of one match, or of the other.
      const put = (headers: Record<string, string>) => ({ method: 'PUT', body: 'x', headers });
      assert.equal(await route('http://matchy:9080/mixed', put({ 'x-m': '1' })), 'mixed');
      assert.equal(await route('http://matchy:9080/mixed', put({ 'x-m': '2' })), 'default');
      assert.equal(await route('http://matchy:9080/mixed', { headers: { 'x-m': '1' } }), 'default');
      assert.equal(await route('http://matchy:9080/mixed?m=2'), 'mixed');
      assert.equal(await route('http://matchy:9080/other?m=2'), 'default');
      assert.equal(
        await route('http://matchy:9080/first'),
        'first',
        'the first matching route wins',
      );
    });

    test('queryParams exact, prefix, regex', async () => {
      assert.equal(await route('http://matchy:9080/q?q=a'), 'qp-exact');
      assert.equal(await route('http://matchy:9080/q?x=1&q=pre-y'), 'qp-prefix');
      assert.equal(await route('http://matchy:9080/q?q=r7'), 'qp-regex');
      assert.equal(await route('http://matchy:9080/q?q=b'), 'default');
    });

    test('port: a match for the service’s other port', async () => {
      assert.equal(await route('http://matchy:9081/any'), 'port');
      assert.equal(await route('http://matchy:9080/any'), 'default');
    });

    test('gateways: the mesh route for sidecars, the gateway’s route through the ingress', async () => {
      assert.equal(await route('http://matchy:9080/gw'), 'gw-mesh');
      const port = mesh.record.gateway.ports[0]?.hostPort;
      assert.ok(port, 'the gateway listens');
      // Origin form with a Host header, as a browser reaches the ingress.
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http
          .get(
            { host: '127.0.0.1', port, path: '/gw', headers: { host: 'matchy.example.com' } },
            resolve,
          )
          .on('error', reject),
      );
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      assert.equal(res.statusCode, 200, Buffer.concat(chunks).toString());
      assert.equal(res.headers['x-route'], 'gw-ingress');
    });

    test('several VirtualServices for one gateway host are merged, the first one’s routes first', async () => {
      const port = mesh.record.gateway.ports[0]?.hostPort;
      assert.ok(port, 'the gateway listens');
      const viaGateway = async (path: string) => {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http
            .get({ host: '127.0.0.1', port, path, headers: { host: 'merge.example.com' } }, resolve)
            .on('error', reject),
        );
        res.resume();
        await new Promise((r) => res.on('end', r));
        return [res.statusCode, res.headers['x-route']];
      };
      assert.deepEqual(await viaGateway('/a'), [200, 'merge-a']);
      assert.deepEqual(await viaGateway('/b'), [200, 'merge-b']);
      assert.deepEqual(await viaGateway('/both'), [200, 'merge-a-both']);
      assert.deepEqual(await viaGateway('/else'), [200, 'merge-b-default']);
    });

    test('sourceLabels and sourceNamespace: routes only for the proxies they name', async () => {
      assert.equal(await route('http://matchy:9080/src'), 'default');
      assert.equal(
        await route('http://matchy:9080/src', {}, instance('client-b').outboundPort),
        'src-labels',
      );
      assert.equal(
        await route('http://matchy.default:9080/src', {}, instance('client-other').outboundPort),
        'src-namespace',
      );
    });
  });

  describe('fault', () => {
    test('abort httpStatus: the app never sees the request; Envoy’s body; FI counted', async () => {
      const key = newKey('abort');
      const before = await stat('client-a', 'fault.aborts_injected');
      const r = await send(client(), 'http://faults:9080/abort', {
        headers: { 'x-test-key': key },
      });
      assert.equal(r.status, 503);
      assert.equal(r.body, 'fault filter abort');
      assert.deepEqual(await seen(key, 'echo-v1'), []);
      assert.equal((await stat('client-a', 'fault.aborts_injected')) - before, 1);
    });

    test('abort percentage: about half of 600 requests', async () => {
      let aborted = 0;
      for (let i = 0; i < 600; i++)
        if ((await send(client(), 'http://faults:9080/half')).status === 500) aborted++;
      // Binomial(600, 0.5): standard deviation 2%; ±10% never flakes.
      assert.ok(Math.abs(aborted / 600 - 0.5) < 0.1, `${aborted} of 600 aborted`);
    });

    test('abort grpcStatus: HTTP 200 for plain HTTP; a gRPC request gets that grpc-status', async () => {
      const plain = await send(client(), 'http://faults:9080/grpc');
      assert.equal(plain.status, 200);
      assert.equal(plain.body, 'fault filter abort');
      const grpc = await send(client(), 'http://faults:9080/grpc', {
        method: 'POST',
        headers: { 'content-type': 'application/grpc', te: 'trailers' },
        body: '',
      });
      assert.equal(grpc.status, 200);
      assert.equal(grpc.headers['grpc-status'], '14');
    });

    test('delay: the request waits (DI counted), then reaches the app', async () => {
      const key = newKey('delay');
      const before = await stat('client-a', 'fault.delays_injected');
      const r = await send(client(), 'http://faults:9080/delay', {
        headers: { 'x-test-key': key },
      });
      assert.equal(r.status, 200);
      assert.equal((await seen(key, 'echo-v1')).length, 1);
      assert.equal((await stat('client-a', 'fault.delays_injected')) - before, 1);
    });

    test('a long delay holds the request back from the app; a client that leaves ends it', async () => {
      const key = newKey('hang');
      const aborter = new AbortController();
      const held = send(client(), 'http://faults:9080/hang', {
        headers: { 'x-test-key': key },
        signal: aborter.signal,
      });
      held.catch(() => undefined);
      // The delayed request is in the proxy while another one goes through.
      await eventually(
        'the delay started',
        async () => (await stat('client-a', 'fault.active_faults')) >= 1,
      );
      assert.equal((await send(client(), 'http://faults:9080/other')).status, 200);
      assert.deepEqual(await seen(key, 'echo-v1'), [], 'a delayed request waits for its delay');
      aborter.abort();
      await eventually(
        'the fault is over',
        async () => (await stat('client-a', 'fault.active_faults')) === 0,
      );
      assert.deepEqual(
        await seen(key, 'echo-v1'),
        [],
        'and a request whose client left never goes on',
      );
    });

    test('delay percent (the integer field): about half of 400 requests', async () => {
      const before = await stat('client-a', 'fault.delays_injected');
      for (let i = 0; i < 400; i++)
        assert.equal((await send(client(), 'http://faults:9080/delayhalf')).status, 200);
      const delayed = (await stat('client-a', 'fault.delays_injected')) - before;
      assert.ok(Math.abs(delayed / 400 - 0.5) < 0.12, `${delayed} of 400 delayed`);
    });
  });

  describe('corsPolicy', () => {
    const preflight = (origin: string, path = '/') =>
      send(client(), `http://cors:9080${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PATCH', 'x-test-key': newKey('cors') },
      });

    test('a preflight from an allowed origin (exact, prefix, regex) is answered by the sidecar', async () => {
      for (const origin of [
        'https://app.example',
        'https://pre.anything',
        'https://abc.rx.example',
      ]) {
        const r = await preflight(origin);
        assert.equal(r.status, 200, origin);
        assert.equal(r.headers['access-control-allow-origin'], origin);
        assert.equal(r.headers['access-control-allow-methods'], 'GET,POST,PATCH');
        assert.equal(r.headers['access-control-allow-headers'], 'x-custom,content-type');
        assert.equal(r.headers['access-control-max-age'], '3600');
        assert.equal(r.headers['access-control-allow-credentials'], 'true');
        assert.equal(r.body, '');
      }
    });

    test('unmatched preflights go to the app (FORWARD), or get a bare 200 (IGNORE)', async () => {
      const forwarded = await preflight('https://evil.example');
      assert.equal(JSON.parse(forwarded.body).method, 'OPTIONS', 'the app answered');
      assert.equal(forwarded.headers['access-control-allow-origin'], undefined);
      const ignored = await preflight('https://evil.example', '/ignore');
      assert.equal(ignored.status, 200);
      assert.equal(ignored.body, '');
      assert.equal(ignored.headers['access-control-allow-origin'], undefined);
    });

    test('an actual request gets allow-origin, credentials and expose-headers for allowed origins only', async () => {
      const ok = await send(client(), 'http://cors:9080/data', {
        headers: { origin: 'https://app.example' },
      });
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
      assert.equal(ok.headers['access-control-allow-credentials'], 'true');
      assert.equal(ok.headers['access-control-expose-headers'], 'x-exposed');
      const other = await send(client(), 'http://cors:9080/data', {
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(other.status, 200);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    });
  });

  describe('headers', () => {
    test('route level: request set/add/remove reach the app; response set/add/remove reach the client', async () => {
      const key = newKey('headers');
      const r = await send(
        client(),
        'http://headers:9080/x?h=x-resp-remove:1&h=x-resp-add:app&h=x-resp-set:app&h=x-resp-dest-remove:1&h=x-resp-dest-set:app&h=x-resp-dest-add:app',
        {
          headers: {
            'x-test-key': key,
            'x-set': 'client',
            'x-add': 'client',
            'x-remove': 'please',
            'x-dest-remove': 'please',
            'x-dest-add': 'client',
          },
        },
      );
      assert.equal(r.status, 200);
      const [got] = await seen(key, 'echo-v1');
      assert.ok(got);
      assert.equal(got.headers['x-set'], 'set-by-mesh');
      assert.equal(got.headers['x-add'], 'client, added');
      assert.equal(got.headers['x-remove'], undefined);
      assert.equal(got.headers['x-single-dest'], '1', 'destination level, one destination');
      assert.equal(got.headers['x-dest-add'], 'client, dest-added');
      assert.equal(got.headers['x-dest-remove'], undefined);
      // Istio appends a single destination's operations after the route's: its set wins.
      assert.equal(got.headers['x-both'], 'dest');
      assert.equal(
        got.headers['x-client-ip'],
        '127.0.0.1',
        'a %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% value',
      );
      assert.equal(r.headers['x-resp-set'], 'yes');
      assert.equal(r.headers['x-resp-add'], 'app, more');
      assert.equal(r.headers['x-resp-remove'], undefined);
      assert.equal(r.headers['x-resp-dest-remove'], undefined);
      assert.equal(r.headers['x-resp-dest-set'], 'dest');
      assert.equal(r.headers['x-resp-dest-add'], 'app, dest-more');
      assert.equal(r.headers['x-resp-both'], 'dest');
    });

    test('destination level on weighted destinations: each cluster its own headers', async () => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 40; i++) {
        const r = await send(client(), 'http://headers:9080/weighted');
        const body = JSON.parse(r.body) as Seen;
        assert.equal(
          body.headers['x-dest'],
          body.version,
          'the request header of the picked destination',
        );
        assert.equal(r.headers['x-dest-resp'], body.version, 'and its response header');
        // Envoy applies the weighted cluster's mutations first, then the route's: the route wins.
        assert.equal(body.headers['x-order'], 'route');
        assert.equal(r.headers['x-order'], 'route');
        counts[body.version] = (counts[body.version] ?? 0) + 1;
      }
      assert.ok((counts['v1'] ?? 0) > 0 && (counts['v2'] ?? 0) > 0, JSON.stringify(counts));
    });
  });

  describe('mirror', () => {
    test('mirror: the shadow gets a copy with the -shadow authority; the response is the real one', async () => {
      const key = newKey('mirror');
      const r = await send(client(), 'http://mirror:9080/all', {
        method: 'POST',
        headers: { 'x-test-key': key, 'content-type': 'text/plain' },
        body: 'the body',
      });
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as Seen).version, 'v1');
      const copies = await eventually('the shadow got its copy', async () => {
        const s = await seen(key, 'shadow-a');
        return s.length ? s : undefined;
      });
      assert.equal(copies[0]?.headers['host'], 'mirror-shadow:9080');
      assert.equal(copies[0]?.body, 'the body');
      assert.equal(copies[0]?.method, 'POST');
    });

    test('a shadow that hangs or fails never touches the real response', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await send(client(), 'http://mirror:9080/failing', {
          headers: { 'x-test-key': newKey('f') },
        });
        assert.equal(r.status, 200);
        assert.equal((JSON.parse(r.body) as Seen).version, 'v1');
      }
    });

    /** The number of copies under `key` once it stops growing (mirrors trail the responses). */
    const settled = async (key: string, workload: string): Promise<number> => {
      let last = -1;
      let stable = 0;
      return eventually(
        'the shadow count settles',
        async () => {
          const count = (await seen(key, workload)).length;
          stable = count === last ? stable + 1 : 0;
          last = count;
          if (stable >= 5) return count;
          await new Promise((r) => setTimeout(r, 200));
          return undefined;
        },
        60_000,
      );
    };

    const mirrored = async (path: string, n: number, workload: string) => {
      const key = newKey(path);
      for (let i = 0; i < n; i++)
        assert.equal(
          (await send(client(), `http://mirror:9080${path}`, { headers: { 'x-test-key': key } }))
            .status,
          200,
        );
      return settled(key, workload);
    };

    test('mirrorPercentage 50 and the legacy mirrorPercent 25: that share is mirrored', async () => {
      const half = await mirrored('/half', 400, 'shadow-a');
      assert.ok(Math.abs(half / 400 - 0.5) < 0.12, `${half} of 400 mirrored`);
      const quarter = await mirrored('/legacy', 400, 'shadow-a');
      assert.ok(Math.abs(quarter / 400 - 0.25) < 0.1, `${quarter} of 400 mirrored`);
    });

    test('mirrors: each with its own percentage', async () => {
      const key = newKey('many');
      for (let i = 0; i < 300; i++)
        assert.equal(
          (await send(client(), 'http://mirror:9080/many', { headers: { 'x-test-key': key } }))
            .status,
          200,
        );
      await eventually(
        'every copy to the first mirror',
        async () => (await seen(key, 'shadow-a')).length === 300,
      );
      const toB = await settled(key, 'shadow-b');
      assert.ok(Math.abs(toB / 300 - 0.5) < 0.15, `${toB} of 300 to shadow-b`);
    });
  });

  describe('redirect, directResponse, rewrite', () => {
    const location = async (path: string) => {
      const r = await send(client(), `http://redirect:9080${path}`);
      return [r.status, r.headers['location']];
    };

    test('redirect: uri, authority, port, derivePort, scheme, redirectCode', async () => {
      assert.deepEqual(await location('/uri?a=1'), [301, 'http://redirect:9080/new?a=1']);
      assert.deepEqual(await location('/authority'), [301, 'http://other.example/authority']);
      assert.deepEqual(await location('/port'), [301, 'http://redirect:8443/port']);
      assert.deepEqual(await location('/derive-request'), [301, 'http://other.example:9080/x']);
      assert.deepEqual(await location('/derive-default'), [301, 'http://other.example/x']);
      assert.deepEqual(await location('/scheme'), [301, 'https://redirect:9080/scheme']);
      assert.deepEqual(await location('/code'), [307, 'http://redirect:9080/x']);
    });

    test('directResponse: status and body (string and bytes)', async () => {
      const s = await send(client(), 'http://redirect:9080/direct-string');
      assert.deepEqual([s.status, s.body], [418, 'short and stout']);
      const b = await send(client(), 'http://redirect:9080/direct-bytes');
      assert.deepEqual([b.status, b.body], [200, 'bytes!']);
    });

    test('rewrite: uri prefix, authority, uriRegexRewrite; x-envoy-original-path', async () => {
      const body = async (path: string) =>
        JSON.parse((await send(client(), `http://rewrite:9080${path}`)).body) as Seen;
      const prefix = await body('/old/page?x=1');
      assert.equal(prefix.url, '/new/page?x=1');
      assert.equal(prefix.headers['x-envoy-original-path'], '/old/page?x=1');
      assert.equal((await body('/auth/x')).headers['host'], 'rewritten.example');
      assert.equal((await body('/rx/alpha/rest/of/it')).url, '/rest/of/it/from/alpha');
    });
  });

  describe('delegate', () => {
    test('the delegate’s routes under the root’s match; the root’s other routes stay', async () => {
      const r = async (path: string) => {
        const res = await send(client(), `http://delegated:9080${path}`);
        return [res.headers['x-route'], (JSON.parse(res.body) as Seen).version];
      };
      assert.deepEqual(await r('/team/v2/x'), ['delegate-v2', 'v2']);
      assert.deepEqual(await r('/team/x'), ['delegate-rest', 'v1']);
      assert.deepEqual(await r('/elsewhere'), ['root-default', 'v1']);
    });
  });

  describe('retries', () => {
    /** A request whose first `fail` tries fail as asked; the status and how many tries the app saw. */
    const tries = async (path: string, query: string, headers: Record<string, string> = {}) => {
      const key = newKey(path);
      const r = await send(client(), `http://retry:9080${path}?${query}`, {
        headers: { 'x-test-key': key, ...headers },
      });
      return {
        status: r.status,
        tries: (await seen(key, 'echo-v1')).length,
        body: r.body,
        headers: r.headers,
      };
    };
    const outcome = async (path: string, query: string, headers: Record<string, string> = {}) => {
      const t = await tries(path, query, headers);
      return [t.status, t.tries];
    };

    test('5xx: retried until it succeeds; attempts 0 disables retries', async () => {
      assert.deepEqual(await outcome('/5xx', 'fail=2&failStatus=500'), [200, 3]);
      assert.deepEqual(await outcome('/none', 'fail=1&failStatus=500'), [500, 1]);
    });

    test('gateway-error (502/503/504 only), retriable-4xx (409), retriable-status-codes', async () => {
      assert.deepEqual(await outcome('/gateway-error', 'fail=1&failStatus=504'), [200, 2]);
      assert.deepEqual(await outcome('/gateway-error', 'fail=1&failStatus=500'), [500, 1]);
      assert.deepEqual(await outcome('/4xx', 'fail=1&failStatus=409'), [200, 2]);
      assert.deepEqual(await outcome('/4xx', 'fail=1&failStatus=404'), [404, 1]);
      assert.deepEqual(await outcome('/codes', 'fail=2&failStatus=418'), [200, 3]);
      assert.deepEqual(await outcome('/codes', 'fail=1&failStatus=503'), [503, 1]);
    });

    test('retriable-headers: a response carrying a header the request names is retried', async () => {
      const named = { 'x-envoy-retriable-header-names': 'x-retry-me' };
      assert.deepEqual(
        await outcome('/headers', 'fail=1&failStatus=200&fh=x-retry-me:yes', named),
        [200, 2],
      );
      assert.deepEqual(
        await outcome('/headers', 'fail=1&failStatus=200&fh=x-other:yes', named),
        [200, 1],
      );
    });

    test('the gRPC conditions read grpc-status from a trailers-only response', async () => {
      for (const [code, name] of [
        ['1', 'cancelled'],
        ['4', 'deadline-exceeded'],
        ['8', 'resource-exhausted'],
        ['13', 'internal'],
        ['14', 'unavailable'],
      ] as const) {
        const t = await tries(
          '/grpc',
          `fail=1&failStatus=200&fh=content-type:application/grpc&fh=grpc-status:${code}`,
        );
        assert.deepEqual([t.status, t.tries], [200, 2], name);
      }
      // A gRPC status the policy does not name is relayed as it is.
      const other = await tries(
        '/grpc',
        'fail=1&failStatus=200&fh=content-type:application/grpc&fh=grpc-status:5',
      );
      assert.deepEqual([other.status, other.tries, other.headers['grpc-status']], [200, 1, '5']);
    });

    test('reset: an upstream that resets the connection before answering is retried', async () => {
      // The upstream outside the mesh resets the client sidecar's connection itself (in the mesh
      // the destination's sidecar would turn the reset into a 503).
      resetsLeft = 1;
      const before = liveHits;
      assert.equal((await send(client(), 'http://live.example.test/reset')).status, 200);
      assert.equal(liveHits - before, 2);
      resetsLeft = 1;
      const r = await send(client(), 'http://live.example.test/reset-none');
      assert.equal(r.status, 503);
      assert.match(r.body, /connection termination/, 'UC, without retries');
    });

    test('perTryTimeout: a try that hangs is abandoned and retried', async () => {
      assert.deepEqual(await outcome('/pertry', 'fail=1&how=hang'), [200, 2]);
    });

    test('connect-failure: retried on another endpoint (previous hosts); without retries it fails', async () => {
      const before = liveHits;
      for (let i = 0; i < 20; i++)
        assert.equal((await send(client(), 'http://ext.example.test/cf')).status, 200);
      assert.equal(liveHits - before, 20);
      let failed = 0;
      for (let i = 0; i < 40; i++) {
        const r = await send(client(), 'http://ext.example.test/nf');
        if (r.status === 503) {
          assert.match(r.body, /connection failure/);
          failed++;
        }
      }
      // Balanced over the closed and the live endpoint: some of the 40 hit the closed one.
      assert.ok(failed > 0 && failed < 40, `${failed} of 40 failed`);
    });

    test('refused-stream: an HTTP/2 upstream’s REFUSED_STREAM is retried; without the condition, 503 UR', async () => {
      refusalsLeft = 1;
      let before = h2Hits;
      const ok = await send(client(), 'http://h2.example.test/refused');
      assert.deepEqual([ok.status, ok.body, h2Hits - before], [200, 'h2', 2]);
      refusalsLeft = 1;
      before = h2Hits;
      const r = await send(client(), 'http://h2.example.test/refused-none');
      assert.deepEqual(
        [r.status, r.headers['x-flags'], r.headers['x-details'], h2Hits - before],
        [503, 'UR', 'upstream_reset_before_response_started{remote_refused_stream_reset}', 1],
      );
      assert.match(r.body, /remote refused stream reset/);
      refusalsLeft = 0;
    });

    test('backoff: the retry waits a fully jittered [0, base) after the first try; without, Envoy’s 25 ms', async () => {
      /** The gap at the app between the failed try and the retry, for `n` requests. */
      const gaps = async (path: string, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) {
          const key = newKey(path);
          const r = await send(client(), `http://retry:9080${path}?fail=1&failStatus=503`, {
            headers: { 'x-test-key': key },
          });
          assert.equal(r.status, 200);
          const s = await seen(key, 'echo-v1');
          assert.equal(s.length, 2);
          out.push((s[1]?.at ?? 0) - (s[0]?.at ?? 0));
        }
        return out.sort((a, b) => a - b);
      };
      // backoff: 500ms. Uniform over [0, 500): the mean of 10 is below 100 ms with p < 3e-4.
      const slow = await gaps('/backoff', 10);
      const mean = slow.reduce((a, b) => a + b, 0) / slow.length;
      assert.ok(mean > 100, `mean gap ${mean} ms with a 500 ms base: ${slow.join(',')}`);
      // Jittered, not a fixed delay (all ten ≥ 450 ms: p = 1e-10); and never past the first
      // retry's ceiling, the base itself (plus the hops' time on a loaded machine).
      assert.ok((slow[0] ?? 0) < 450, `the smallest gap ${slow[0]} ms`);
      assert.ok((slow.at(-1) ?? 0) < 800, `the largest gap ${slow.at(-1)} ms`);
      // No backoff: Envoy's default base of 25 ms. The median is far below the slow mean.
      const fast = await gaps('/nobackoff', 10);
      assert.ok((fast[5] ?? 0) < 80, `median gap ${fast[5]} ms without backoff: ${fast.join(',')}`);
    });

    test('retryRemoteLocalities: the second retry leaves the local locality; without, retries stay local', async () => {
      const loc = instance('client-loc').outboundPort;
      /** The versions (localities) that saw the tries of one request, in order. */
      const path = async (p: string) => {
        const key = newKey('loc');
        const r = await send(loc, `http://loc:9080${p}?fail=9&failv=near`, {
          headers: { 'x-test-key': key },
        });
        const s = await seen(key, 'loc-near', 'loc-far');
        return [
          r.status,
          s
            .sort((a, b) => a.at - b.at)
            .map((x) => x.version)
            .join(','),
        ];
      };
      // Localities are priorities (outlier detection on): everything goes to the client's own
      // zone while it is healthy. Istio's previous_priorities (update_frequency 2) changes the
      // priority load every second attempt: the first retry stays local, the second does not.
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await path('/remote'), [200, 'near,near,far']);
        assert.deepEqual(await path('/local'), [503, 'near,near,near']);
      }
    });

    test('URX: retries exhausted — the last response is relayed and counted', async () => {
      const before = await stat('client-a', 'upstream_rq_retry_limit_exceeded');
      assert.deepEqual(await outcome('/5xx', 'fail=9&failStatus=503'), [503, 4]);
      assert.equal((await stat('client-a', 'upstream_rq_retry_limit_exceeded')) - before, 1);
    });
  });

  describe('response flags and details per request (%RESPONSE_FLAGS%, %RESPONSE_CODE_DETAILS%)', () => {
    /** Status, flags and details the client's sidecar put in the route's response headers. */
    const flags = async (path: string) => {
      const r = await send(client(), `http://flags:9080${path}`, {
        headers: { 'x-test-key': newKey('flags') },
      });
      return [r.status, r.headers['x-flags'], r.headers['x-details']];
    };

    test('the router’s local replies carry the route’s response headers: UH, UF, UC, UT', async () => {
      assert.deepEqual(await flags('/uh'), [503, 'UH', 'no_healthy_upstream']);
      assert.deepEqual(await flags('/uf'), [
        503,
        'UF',
        'upstream_reset_before_response_started{connection_failure}',
      ]);
      assert.deepEqual(await flags('/uc'), [
        503,
        'UC',
        'upstream_reset_before_response_started{connection_termination}',
      ]);
      assert.deepEqual(await flags('/ut?fail=1&how=hang'), [504, 'UT', 'response_timeout']);
    });

    test('UO: past the circuit breaker (http2MaxRequests 1), 503 overflow at once', async () => {
      const first = send(client(), 'http://flags:9080/uo?hold');
      try {
        await eventually('the first request is held upstream', async () => held.length === 1);
        assert.deepEqual(await flags('/uo'), [
          503,
          'UO',
          'upstream_reset_before_response_started{overflow}',
        ]);
      } finally {
        for (const r of held.splice(0)) r.end('released');
      }
      assert.deepEqual((await first).status, 200);
    });

    test('upstream responses: URX (retries exhausted), DI (delay); none on a plain success', async () => {
      assert.deepEqual(await flags('/urx?fail=9&failStatus=503'), [503, 'URX', 'via_upstream']);
      assert.deepEqual(await flags('/di'), [200, 'DI', 'via_upstream']);
      const [status, , details] = await flags('/ok');
      assert.deepEqual([status, details], [200, 'via_upstream']);
    });

    test('FI and NR: filter and no-route local replies, which route headers never reach (Envoy)', async () => {
      // Envoy's fault filter answers before the router: the route's response headers are the
      // router's, so an abort has none. The reply itself says FI (fault_filter_abort).
      const fi = await send(client(), 'http://flags:9080/fi');
      assert.deepEqual(
        [fi.status, fi.body, fi.headers['x-flags']],
        [503, 'fault filter abort', undefined],
      );
      // No route: no route's headers either; Envoy's 404 with an empty body.
      const nr = await send(client(), 'http://redirect:9080/no-such-route');
      assert.deepEqual([nr.status, nr.body], [404, '']);
    });
  });
});
