// Distributed tracing across Bookinfo: a Zipkin receiver in the test (declared to the mesh by a
// ServiceEntry and a mesh config extensionProvider, chosen by a Telemetry at 100%) gets the
// spans of one /productpage request and rebuilds the tree gateway → productpage → details and
// reviews → ratings; then an upstream "not sampled" is honoured, B3 comes in and B3 plus
// traceparent go out, and randomSamplingPercentage 0 exports nothing. Telemetry resources applied
// during the run (and deleted after) prove the rest of the API's tracing section through the
// sidecars: header and environment custom tags, disableSpanReporting on one workload, and a
// namespace's sampling over the root's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ROOT, SKIFF, eventually, viaProxy } from './support/skiff.js';

interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  readonly kind: 'CLIENT' | 'SERVER';
  readonly localEndpoint: { readonly serviceName: string };
  readonly tags: Readonly<Record<string, string>>;
}

/** A Zipkin v2 collector: POST /api/v2/spans with a JSON list. */
function startReceiver(): Promise<{ spans: ZipkinSpan[]; port: number; close(): void }> {
  const spans: ZipkinSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/spans')
        spans.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ZipkinSpan[]));
      res.writeHead(202).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        spans,
        port: (server.address() as AddressInfo).port,
        close: () => server.close(),
      }),
    ),
  );
}

/** An HTTP server outside the mesh that records the headers it gets. */
function startEcho(): Promise<{ seen: http.IncomingHttpHeaders[]; port: number; close(): void }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ seen, port: (server.address() as AddressInfo).port, close: () => server.close() }),
    ),
  );
}

const MESH_CONFIG = `
enableTracing: true
extensionProviders:
  - name: zipkin-test
    zipkin: { service: zipkin.istio-system.svc.cluster.local, port: 9411 }
`;

function tracingConfig(zipkinPort: number, echoPort: number, percent: number): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: zipkin, namespace: istio-system }
spec:
  hosts: [zipkin.istio-system.svc.cluster.local]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 9411, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${zipkinPort} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [echo.test]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${echoPort} } }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
    - providers: [{ name: zipkin-test }]
      randomSamplingPercentage: ${percent}
      customTags:
        test.literal: { literal: { value: here } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
    - { name: v3, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: { host: reviews, subset: v3 }
`;
}

/** The proxies' environment: one variable an `environment` custom tag reads, one it lacks. */
const TAG_ENV = 'SKIFF_TRACING_TEST_TAG';
const UNSET_ENV = 'SKIFF_TRACING_TEST_UNSET';

/** Every object in a config dump with a `random_sampling` key: the HCMs' tracing blocks. */
function tracingBlocks(
  dump: unknown,
  out: Record<string, unknown>[] = [],
): Record<string, unknown>[] {
  if (Array.isArray(dump)) for (const v of dump) tracingBlocks(v, out);
  else if (dump && typeof dump === 'object') {
    const o = dump as Record<string, unknown>;
    if ('random_sampling' in o) out.push(o);
    else for (const v of Object.values(o)) tracingBlocks(v, out);
  }
  return out;
}

const hex = (n: number): string =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

describe('Tracing across Bookinfo', { timeout: 300_000 }, () => {
  let cwd: string;
  let mesh: Mesh;
  let gateway: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let echo: Awaited<ReturnType<typeof startEcho>>;

  function skiff(...args: string[]): void {
    const [cmd = '', ...rest] = SKIFF;
    const r = spawnSync(cmd, [...rest, ...args], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, `skiff ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }

  function apply(percent: number): void {
    const file = path.join(cwd, `tracing-${percent}.yaml`);
    writeFileSync(file, tracingConfig(receiver.port, echo.port, percent));
    skiff('apply', '-f', file);
  }

  /** Every proxy's admin port (sidecars and the gateway). */
  function adminPorts(): number[] {
    return [...mesh.record.instances.map((i) => i.adminPort), mesh.record.gateway.adminPort];
  }

  /** Waits until every proxy's HCMs trace at `percent` to the zipkin collector cluster. */
  async function tracingInForce(percent: number): Promise<void> {
    await eventually(
      `every proxy tracing at ${percent}%`,
      async () => {
        for (const port of adminPorts()) {
          const dump = await (await fetch(`http://127.0.0.1:${port}/config_dump`)).text();
          if (!dump.includes('outbound|9411||zipkin.istio-system.svc.cluster.local')) return false;
          const samplings = [...dump.matchAll(/"random_sampling":\s*(\{[^}]*\})/g)].map(
            (m) => (JSON.parse(m[1] ?? '{}') as { value?: number }).value ?? 0,
          );
          if (samplings.length === 0 || samplings.some((v) => v !== percent)) return false;
          if (!dump.includes('"decorator"')) return false;
        }
        return true;
      },
      60_000,
    );
  }

  async function productpage(headers: Record<string, string> = {}): Promise<void> {
    const res = await fetch(`${gateway}/productpage`, { headers });
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 300));
  }

  /** Waits until the receiver holds `count` spans of a trace (more may follow: checked after). */
  function traceSpans(traceId: string, count: number): Promise<ZipkinSpan[]> {
    return eventually(
      `${count} spans of trace ${traceId}`,
      () => {
        const spans = receiver.spans.filter((s) => s.traceId === traceId);
        return spans.length >= count ? spans : undefined;
      },
      30_000,
    );
  }

  /** Applies one Telemetry (or any YAML) kept in a file of its own, for `remove` to delete. */
  function applyYaml(name: string, yaml: string): void {
    const file = path.join(cwd, `${name}.yaml`);
    writeFileSync(file, yaml);
    skiff('apply', '-f', file);
  }

  function remove(name: string): void {
    skiff('delete', '-f', path.join(cwd, `${name}.yaml`));
  }

  /** The HCM tracing blocks a proxy holds, from its admin /config_dump. */
  async function blocksAt(adminPort: number): Promise<Record<string, unknown>[]> {
    const res = await fetch(`http://127.0.0.1:${adminPort}/config_dump`);
    return tracingBlocks(await res.json());
  }

  /**
   * Waits until every sidecar whose workload matches `which`, and the gateway, hold tracing
   * blocks that all pass `sidecar` / `gatewayCheck` (undefined: the gateway is not checked).
   */
  async function untilPushed(
    what: string,
    which: (workload: string) => boolean,
    sidecar: (block: Record<string, unknown>) => boolean,
    gatewayCheck?: (block: Record<string, unknown>) => boolean,
  ): Promise<void> {
    await eventually(
      what,
      async () => {
        for (const i of mesh.record.instances) {
          if (!which(i.workloadName)) continue;
          const blocks = await blocksAt(i.adminPort);
          if (blocks.length === 0 || !blocks.every(sidecar)) return false;
        }
        if (gatewayCheck) {
          const blocks = await blocksAt(mesh.record.gateway.adminPort);
          if (blocks.length === 0 || !blocks.every(gatewayCheck)) return false;
        }
        return true;
      },
      60_000,
    );
  }

  const tagNames = (b: Record<string, unknown>): string[] =>
    ((b['custom_tags'] as { tag: string }[] | undefined) ?? []).map((t) => t.tag);
  const reports = (b: Record<string, unknown>): boolean => b['provider'] !== undefined;
  const sampling = (b: Record<string, unknown>): number =>
    (b['random_sampling'] as { value?: number } | undefined)?.value ?? 0;
  const svc = (s: ZipkinSpan): string => s.tags['istio.canonical_service'] ?? '';

  /** The root Telemetry at 100% (the last test leaves it at 0): tests do not depend on order. */
  async function tracingAt100(): Promise<void> {
    apply(100);
    await tracingInForce(100);
  }

  /** One request through the gateway; its trace's spans once `count` of them are in. */
  async function tracedRequest(
    count: number,
    headers: Record<string, string> = {},
  ): Promise<ZipkinSpan[]> {
    const requestId = `trace-test-${hex(8)}`;
    await productpage({ ...headers, 'x-request-id': requestId });
    const root = await eventually('the gateway span', () =>
      receiver.spans.find(
        (s) => s.tags['guid:x-request-id'] === requestId && s.kind === 'SERVER' && !s.parentId,
      ),
    );
    return traceSpans(root.traceId, count);
  }

  before(async () => {
    receiver = await startReceiver();
    echo = await startEcho();
    cwd = mkdtempSync(path.join(os.tmpdir(), 'skiff-tracing-'));
    const meshConfigFile = path.join(cwd, 'mesh.yaml');
    writeFileSync(meshConfigFile, MESH_CONFIG);
    mesh = await startMesh({
      dir: path.join(ROOT, 'examples/bookinfo'),
      cwd,
      skiffCommand: SKIFF,
      ingressPort: 0,
      meshConfigFile,
      startTimeoutMs: 120_000,
      // Every proxy inherits this environment: what the `environment` custom tags read.
      env: { ...process.env, [TAG_ENV]: 'from-env', [UNSET_ENV]: undefined },
    });
    const port = mesh.record.gateway.ports[0]?.hostPort;
    assert.ok(port, 'the gateway listens');
    gateway = `http://127.0.0.1:${port}`;
    apply(100);
    await tracingInForce(100);
  });

  after(async () => {
    await mesh?.stop();
    receiver?.close();
    echo?.close();
  });

  test('one request comes back as the whole tree: gateway → productpage → details, reviews → ratings', async () => {
    const requestId = `trace-test-${hex(8)}`;
    await productpage({ 'x-request-id': requestId });
    // The gateway's server span carries the request id; its trace is the request's.
    const root = await eventually('the gateway span', () =>
      receiver.spans.find(
        (s) => s.tags['guid:x-request-id'] === requestId && s.kind === 'SERVER' && !s.parentId,
      ),
    );
    // Gateway: server + router; productpage: server + 2 clients; details, reviews: server;
    // reviews: client; ratings: server.
    const spans = await traceSpans(root.traceId, 9);
    const byId = new Map(spans.map((s) => [s.id, s]));
    assert.equal(byId.size, spans.length, 'span ids are unique');
    const children = (s: ZipkinSpan): ZipkinSpan[] => spans.filter((c) => c.parentId === s.id);
    const only = (list: ZipkinSpan[], what: string): ZipkinSpan => {
      assert.equal(list.length, 1, `${what}: ${JSON.stringify(list.map((s) => s.name))}`);
      return list[0] as ZipkinSpan;
    };

    // The gateway: its server span, then the router's client span to productpage.
    assert.equal(svc(root), 'istio-ingressgateway');
    assert.equal(root.name, 'productpage.default.svc.cluster.local:9080/productpage');
    const gwClient = only(children(root), 'under the gateway span');
    assert.equal(gwClient.kind, 'CLIENT');
    assert.equal(
      gwClient.tags['upstream_cluster'],
      'outbound|9080||productpage.default.svc.cluster.local',
    );
    // productpage's sidecar: a server span under the gateway's client span.
    const ppServer = only(children(gwClient), 'under the gateway router span');
    assert.equal(ppServer.kind, 'SERVER');
    assert.equal(svc(ppServer), 'productpage');
    assert.equal(ppServer.name, 'productpage.default.svc.cluster.local:9080/*');
    // The app's two calls leave through its sidecar: client spans under its server span.
    const ppClients = children(ppServer);
    assert.deepEqual(ppClients.map((s) => s.kind).sort(), ['CLIENT', 'CLIENT']);
    const toDetails = only(
      ppClients.filter((s) => s.name === 'details.default.svc.cluster.local:9080/*'),
      'productpage → details',
    );
    const toReviews = only(
      ppClients.filter((s) => s.name === 'reviews.default.svc.cluster.local:9080/*'),
      'productpage → reviews',
    );
    assert.equal(svc(toDetails), 'productpage');
    const details = only(children(toDetails), 'details server');
    assert.equal(details.kind, 'SERVER');
    assert.equal(svc(details), 'details');
    const reviews = only(children(toReviews), 'reviews server');
    assert.equal(svc(reviews), 'reviews');
    assert.equal(reviews.tags['istio.canonical_revision'], 'v3');
    const toRatings = only(children(reviews), 'reviews → ratings');
    assert.equal(toRatings.kind, 'CLIENT');
    assert.equal(toRatings.name, 'ratings.default.svc.cluster.local:9080/*');
    const ratings = only(children(toRatings), 'ratings server');
    assert.equal(svc(ratings), 'ratings');
    assert.equal(children(ratings).length, 0);
    assert.equal(spans.length, 9, 'no other spans in the trace');

    // Istio's and Envoy's tags, on every span of the connection managers.
    for (const s of [root, ppServer, toDetails, details, toReviews, reviews, toRatings, ratings]) {
      const t = s.tags;
      assert.equal(t['component'], 'proxy');
      assert.equal(t['guid:x-request-id'], requestId, `${s.name}: the request id travels`);
      assert.equal(t['istio.namespace'], s === root ? 'istio-system' : 'default');
      assert.equal(t['istio.mesh_id'], 'cluster.local');
      assert.ok(t['istio.canonical_revision'], 'canonical revision');
      assert.match(t['node_id'] ?? '', /^(sidecar|router)~127\.0\.0\.1~/);
      assert.equal(t['http.method'], 'GET');
      assert.equal(t['http.status_code'], '200');
      assert.equal(t['http.protocol'], 'HTTP/1.1');
      assert.match(t['http.url'] ?? '', /^http:\/\//);
      assert.equal(t['response_flags'], '-');
      assert.ok(t['upstream_cluster'] && t['upstream_cluster.name'], 'upstream cluster');
      assert.ok(t['downstream_cluster'] && t['user_agent'], 'downstream cluster, user agent');
      assert.ok(t['request_size'] !== undefined && t['response_size'] !== undefined, 'sizes');
      assert.ok(t['peer.address'], 'peer address');
      assert.equal(t['test.literal'], 'here', 'the Telemetry custom tag');
      assert.equal(t['error'], undefined);
    }
    assert.equal(
      toRatings.tags['upstream_cluster'],
      'outbound|9080||ratings.default.svc.cluster.local',
    );
    assert.equal(ratings.tags['upstream_cluster'], 'inbound|9080||');
    assert.equal(root.localEndpoint.serviceName, 'istio-ingressgateway.istio-system');
  });

  test('an upstream decision not to sample is honoured: no span of that trace', async () => {
    const unsampled = hex(32);
    await productpage({ traceparent: `00-${unsampled}-${hex(16)}-00` });
    // A sampled request after it: once its spans are in, the earlier request's would be too.
    const sentinel = hex(32);
    const parent = hex(16);
    await productpage({ traceparent: `00-${sentinel}-${parent}-01` });
    const spans = await traceSpans(sentinel, 9);
    assert.ok(
      spans.some((s) => s.parentId === parent),
      'the sentinel continues its caller',
    );
    assert.equal(receiver.spans.filter((s) => s.traceId === unsampled).length, 0);
  });

  test('B3 in: the trace continues, and B3 and traceparent go out', async () => {
    const sidecar = mesh.record.instances.find((i) => i.workloadName === 'productpage-v1');
    assert.ok(sidecar);
    const traceId = hex(32);
    const spanId = hex(16);
    const before = echo.seen.length;
    const reply = await viaProxy(sidecar.outboundPort, 'http://echo.test/', {
      'x-b3-traceid': traceId,
      'x-b3-spanid': spanId,
      'x-b3-sampled': '1',
    });
    assert.equal(reply.status, 200, reply.body);
    const got = echo.seen[before];
    assert.ok(got, 'the echo server got the request');
    const [client] = await traceSpans(traceId, 1);
    assert.ok(client);
    assert.equal(client.kind, 'CLIENT');
    assert.equal(client.parentId, spanId);
    assert.equal(client.name, 'echo.test:80/*');
    // The sidecar's span is the parent of whatever the echo server would record.
    assert.equal(got['x-b3-traceid'], traceId);
    assert.equal(got['x-b3-spanid'], client.id);
    assert.equal(got['x-b3-parentspanid'], spanId);
    assert.equal(got['x-b3-sampled'], '1');
    assert.equal(got['traceparent'], `00-${traceId}-${client.id}-01`);
    assert.match(String(got['x-request-id']), /^[0-9a-f-]{36}$/, 'x-request-id is created');
  });

  test('customTags header and environment: from the request, the proxy env, or the default', async () => {
    await tracingAt100();
    // A namespace-level Telemetry adds tags; the root's provider, sampling and literal stay.
    applyYaml(
      'tags',
      `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: tags, namespace: default }
spec:
  tracing:
    - customTags:
        test.header: { header: { name: x-test-tag, defaultValue: no-header } }
        test.env: { environment: { name: ${TAG_ENV}, defaultValue: env-unused } }
        test.env_unset: { environment: { name: ${UNSET_ENV}, defaultValue: env-default } }
`,
    );
    const ours = ['test.header', 'test.env', 'test.env_unset'];
    try {
      await untilPushed(
        'the namespace tags at every sidecar, not at the gateway',
        () => true,
        (b) => reports(b) && ours.every((t) => tagNames(b).includes(t)),
        (b) => reports(b) && !tagNames(b).some((t) => ours.includes(t)),
      );
      // The proxy resolves the variable: the control plane sends the environment tag as is.
      const ppAdmin = mesh.record.instances.find((i) => i.workloadName === 'productpage-v1');
      assert.ok(ppAdmin);
      const [block] = await blocksAt(ppAdmin.adminPort);
      const envTag = (block?.['custom_tags'] as Record<string, unknown>[]).find(
        (t) => t['tag'] === 'test.env',
      );
      assert.deepEqual(envTag?.['environment'], { name: TAG_ENV, default_value: 'env-unused' });

      // x-test-tag reaches productpage's sidecar (the gateway passes it on); Bookinfo's apps do
      // not forward it, so every later hop takes the default.
      const spans = await tracedRequest(9, { 'x-test-tag': 'hello' });
      assert.equal(spans.length, 9);
      for (const s of spans) {
        const t = s.tags;
        assert.equal(t['test.literal'], 'here', `${s.name}: the root's tag stays`);
        if (svc(s) === 'istio-ingressgateway') {
          for (const tag of ours) assert.equal(t[tag], undefined, `gateway span: no ${tag}`);
          continue;
        }
        const ppServer = svc(s) === 'productpage' && s.kind === 'SERVER';
        assert.equal(t['test.header'], ppServer ? 'hello' : 'no-header', `${svc(s)} ${s.kind}`);
        assert.equal(t['test.env'], 'from-env', `${svc(s)} ${s.kind}: the proxy's env`);
        assert.equal(t['test.env_unset'], 'env-default', `${svc(s)} ${s.kind}: env default`);
      }
      assert.equal(
        spans.filter((s) => s.tags['test.header'] === 'hello').length,
        1,
        'only the span of the request that carried the header',
      );
    } finally {
      remove('tags');
      await untilPushed(
        'the namespace tags gone',
        () => true,
        (b) => !tagNames(b).some((t) => ours.includes(t)),
      );
    }
  });

  test('disableSpanReporting on one workload: its spans are missing, the context goes through', async () => {
    await tracingAt100();
    applyYaml(
      'reviews-quiet',
      `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: reviews-quiet, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  tracing:
    - disableSpanReporting: true
`,
    );
    const isReviews = (w: string): boolean => w.startsWith('reviews-');
    let quietTrace = '';
    try {
      // reviews' sidecars still trace (context, sampling: 100) but have no provider.
      await untilPushed(
        'reviews without a provider',
        isReviews,
        (b) => !reports(b) && sampling(b) === 100,
      );
      await untilPushed('the others reporting', (w) => !isReviews(w), reports, reports);

      const spans = await tracedRequest(7);
      // Another request after it: once its 7 spans are in, the first one's would be too.
      await tracedRequest(7);
      quietTrace = spans[0]?.traceId ?? '';
      assert.equal(receiver.spans.filter((s) => s.traceId === quietTrace).length, 7);
      assert.deepEqual(
        spans.filter((s) => svc(s) === 'reviews'),
        [],
        'no span from reviews',
      );
      const byId = new Map(spans.map((s) => [s.id, s]));
      const toReviews = spans.find(
        (s) => s.kind === 'CLIENT' && s.name === 'reviews.default.svc.cluster.local:9080/*',
      );
      assert.ok(toReviews, "productpage's call to reviews is recorded");
      assert.equal(svc(toReviews), 'productpage');
      assert.ok(
        spans.some((s) => svc(s) === 'details' && s.kind === 'SERVER'),
        'details reports',
      );
      // ratings continues the trace under reviews' unreported client span, sampled as decided
      // at the gateway: reviews' sidecar propagated the context it did not report.
      const ratings = spans.find((s) => svc(s) === 'ratings');
      assert.ok(ratings, 'ratings reports, in the same trace');
      assert.equal(ratings.kind, 'SERVER');
      assert.ok(ratings.parentId, 'ratings has a parent');
      assert.ok(!byId.has(ratings.parentId), "ratings' parent is a span reviews did not report");
      assert.notEqual(ratings.parentId, toReviews.id, 'reviews made spans of its own');
    } finally {
      remove('reviews-quiet');
      await untilPushed('reviews reporting again', isReviews, reports);
    }
    // Back: reviews reports again, and nothing of the quiet trace ever came from it.
    const again = await tracedRequest(9);
    assert.equal(again.filter((s) => svc(s) === 'reviews').length, 2);
    const late = receiver.spans.filter((s) => s.traceId === quietTrace && svc(s) === 'reviews');
    assert.deepEqual(late, [], 'reviews never reported the quiet trace');
  });

  test('a namespace Telemetry overrides the root sampling; an upstream decision still wins', async () => {
    await tracingAt100();
    applyYaml(
      'ns-sampling',
      `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ns-sampling, namespace: default }
spec:
  tracing:
    - randomSamplingPercentage: 0
`,
    );
    try {
      await untilPushed(
        'default at 0%, the gateway at 100%',
        () => true,
        (b) => reports(b) && sampling(b) === 0,
        (b) => reports(b) && sampling(b) === 100,
      );
      const sidecar = mesh.record.instances.find((i) => i.workloadName === 'productpage-v1');
      assert.ok(sidecar);
      // A new request at productpage's sidecar: it decides, at its namespace's 0%.
      const before = echo.seen.length;
      const fresh = await viaProxy(sidecar.outboundPort, 'http://echo.test/');
      assert.equal(fresh.status, 200, fresh.body);
      const got = echo.seen[before];
      assert.ok(got, 'the echo server got the request');
      assert.equal(got['x-b3-sampled'], '0', 'decided: not sampled');
      const unsampled = String(got['x-b3-traceid']);
      assert.match(unsampled, /^[0-9a-f]{32}$/);
      assert.match(String(got['traceparent']), new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
      // A sampled caller through the same sidecar is followed and reported, with the root's
      // provider and tags (the namespace set the sampling only); after it, the first is absent.
      const sentinel = hex(32);
      const sampled = await viaProxy(sidecar.outboundPort, 'http://echo.test/', {
        traceparent: `00-${sentinel}-${hex(16)}-01`,
      });
      assert.equal(sampled.status, 200, sampled.body);
      const [client] = await traceSpans(sentinel, 1);
      assert.equal(client?.tags['test.literal'], 'here');
      assert.equal(receiver.spans.filter((s) => s.traceId === unsampled).length, 0);
      // Through the gateway (istio-system, still 100%) the decision is the gateway's: the
      // default namespace at 0% follows it, and the whole tree is reported.
      const spans = await tracedRequest(9);
      assert.deepEqual([...new Set(spans.map(svc))].sort(), [
        'details',
        'istio-ingressgateway',
        'productpage',
        'ratings',
        'reviews',
      ]);
    } finally {
      remove('ns-sampling');
      await tracingInForce(100);
    }
  });

  test('randomSamplingPercentage 0 exports nothing, and still follows a sampled caller', async () => {
    apply(0);
    await tracingInForce(0);
    const count = receiver.spans.length;
    const requestId = `untraced-${hex(8)}`;
    await productpage({ 'x-request-id': requestId });
    const sentinel = hex(32);
    await productpage({ traceparent: `00-${sentinel}-${hex(16)}-01` });
    await traceSpans(sentinel, 9);
    const since = receiver.spans.slice(count);
    assert.deepEqual([...new Set(since.map((s) => s.traceId))], [sentinel]);
    assert.equal(
      since.filter((s) => s.tags['guid:x-request-id'] === requestId).length,
      0,
      'the request at 0% left no span',
    );
  });
});
