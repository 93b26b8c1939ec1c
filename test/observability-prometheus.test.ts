// A real Prometheus (Debian's package) scrapes a running mesh with the config the control plane
// serves (http_sd_configs against the control plane), and its HTTP API answers what the test's
// traffic makes true: every target up, the control plane's istiod metrics, the app's own metrics
// merged into its sidecar's endpoint, requests by destination_version, the error ratio, and p99
// from the duration histogram. Every wait polls with a deadline; no fixed ports.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { MESH, V2_DELAY_MS, WEB_APP } from './support/observability-mesh.js';
import { PROMETHEUS_BIN, Prometheus, prometheusInstalled } from './support/prometheus.js';
import { SKIFF, eventually, tempTree } from './support/skiff.js';

/** The traffic the test sends through the ingress gateway. */
const V1 = 40; // of which FAILED answer 500
const FAILED = 10;
const V2 = 20;

/** Only the mesh's own requests to web, as its sidecars report them. */
const WEB = 'reporter="destination",destination_service_name="web"';

const skip = prometheusInstalled()
  ? false
  : `needs ${PROMETHEUS_BIN} (Debian's prometheus package; .ci/run installs it)`;

/** How long each version's requests took, as the client saw them (ms). */
const took: Record<'v1' | 'v2', number[]> = { v1: [], v2: [] };

async function send(
  url: string,
  headers: Record<string, string>,
  version: 'v1' | 'v2',
): Promise<number> {
  const start = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  took[version].push(performance.now() - start);
  return res.status;
}

/** Istio's duration buckets (Envoy's defaults), in ms. */
const BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/** The upper bound of the bucket a duration falls in. */
const bucketCeil = (ms: number): number => BUCKETS.find((b) => ms <= b) ?? Infinity;

/** Sends `n` requests, `concurrency` at a time; returns the statuses. */
async function burst(
  n: number,
  concurrency: number,
  one: (i: number) => Promise<number>,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - i) }, (_, k) => one(i + k));
    statuses.push(...(await Promise.all(batch)));
  }
  return statuses;
}

const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort());

describe('a real Prometheus scrapes a skiff mesh', { skip, timeout: 600_000 }, () => {
  let dir: string;
  let mesh: Mesh | undefined;
  let prom: Prometheus | undefined;
  const P = (): Prometheus => prom as Prometheus;

  before(async () => {
    dir = tempTree('skiff-observability-', { 'web.mjs': WEB_APP, 'mesh.yaml': MESH });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 240_000,
    });
    // The config a user gets with curl, at a 1 s interval.
    const cp = mesh.record.controlPlane.httpAddress;
    const res = await fetch(`http://${cp}/prometheus/config?scrape_interval=1s`);
    assert.equal(res.status, 200);
    prom = await Prometheus.start(await res.text());

    const gateway = `http://127.0.0.1:${mesh.record.gateway.ports[0]?.hostPort}/`;
    const [v1, v2] = await Promise.all([
      burst(V1, 5, (i) => send(gateway, i < FAILED ? { 'x-fail': '1' } : {}, 'v1')),
      burst(V2, 5, () => send(gateway, { 'x-version': 'v2' }, 'v2')),
    ]);
    assert.deepEqual(
      {
        v1: v1.filter((s) => s === 500).length,
        ok: [...v1, ...v2].filter((s) => s === 200).length,
      },
      { v1: FAILED, ok: V1 - FAILED + V2 },
      `statuses: v1 ${v1.join(',')}; v2 ${v2.join(',')}`,
    );
  });

  after(async () => {
    await prom?.stop();
    await mesh?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('Prometheus discovers every proxy and the control plane over http_sd, all up', async () => {
    const record = (mesh as Mesh).record;
    const expected = new Map<string, number | undefined>([
      ['istiod', undefined],
      ...record.instances.map((i) => [i.name, i.statusPort] as const),
      [record.gateway.name, record.gateway.statusPort],
    ]);
    const targets = await eventually(
      'every target discovered and up',
      async () => {
        const t = await P().activeTargets();
        return t.length === expected.size && t.every((x) => x.health === 'up') && t;
      },
      60_000,
    ).catch(async (e: Error) => {
      const t = await P().activeTargets();
      throw new Error(`${e.message}: ${JSON.stringify(t, null, 1)}\n${P().logTail()}`);
    });
    assert.deepEqual(new Set(targets.map((t) => t.labels['pod'])), new Set(expected.keys()));
    for (const t of targets) {
      const pod = t.labels['pod'] ?? '';
      const port = expected.get(pod);
      if (pod === 'istiod') {
        assert.equal(t.scrapeUrl, `http://${record.controlPlane.httpAddress}/metrics`);
        assert.equal(t.labels['app'], 'istiod');
        assert.equal(t.labels['namespace'], 'istio-system');
      } else {
        // Each proxy once, at its merged endpoint (never also at the admin port: no double counts).
        assert.equal(t.scrapeUrl, `http://127.0.0.1:${port}/stats/prometheus`);
      }
    }
    const v1 = targets.find((t) => t.labels['pod'] === 'web-v1-0');
    assert.equal(v1?.labels['app'], 'web');
    assert.equal(v1?.labels['version'], 'v1');
    assert.equal(v1?.labels['namespace'], 'default');
    assert.equal(await P().scalar('sum(up{job="skiff-mesh"})'), expected.size);
    assert.equal(await P().scalar('up{app="istiod"}'), 1);
  });

  test("the control plane's /metrics carry istiod's names and values", async () => {
    // Gateway and two sidecars are connected.
    await eventually('pilot_xds == 3', async () => (await P().scalar('sum(pilot_xds)')) === 3);
    const pushes = await P().queryBy('sum by (type) (pilot_xds_pushes{app="istiod"})', 'type');
    for (const type of ['cds', 'eds', 'lds', 'rds'])
      assert.ok((pushes.get(type) ?? 0) > 0, `pilot_xds_pushes{type="${type}"}: ${sorted(pushes)}`);
    assert.ok(((await P().scalar('sum(pilot_xds_push_time_count)')) ?? 0) > 0);
    assert.ok(((await P().scalar('pilot_proxy_convergence_time_count')) ?? 0) > 0);
    assert.equal(await P().scalar('citadel_server_csr_count'), 0, 'no CA yet: no CSRs');
    assert.equal(await P().scalar('pilot_virt_services'), 1);
    assert.ok(((await P().scalar('process_resident_memory_bytes{app="istiod"}')) ?? 0) > 0);
  });

  test("the merged endpoint adds the app's own metrics when the Workload asks for it", async () => {
    // web-v1 asks (prometheus.io/* annotations) and served every v1 request; web-v2 does not ask.
    await eventually(
      `web_app_requests_total{pod="web-v1-0"} == ${V1}`,
      async () => (await P().scalar('web_app_requests_total{pod="web-v1-0"}')) === V1,
    );
    assert.deepEqual(sorted(await P().queryBy('count by (pod) (web_app_requests_total)', 'pod')), {
      'web-v1-0': 1,
    });
    const scrapes = await P().queryBy('count by (pod) (istio_agent_scrapes_total)', 'pod');
    assert.deepEqual([...scrapes.keys()].sort(), [
      'istio-ingressgateway-0',
      'web-v1-0',
      'web-v2-0',
    ]);
  });

  test('requests by destination_version match the traffic sent', async () => {
    const query = `sum by (destination_version) (istio_requests_total{${WEB}})`;
    const got = await eventually(
      `${query} = v1 ${V1}, v2 ${V2}`,
      async () => {
        const m = await P().queryBy(query, 'destination_version');
        return m.get('v1') === V1 && m.get('v2') === V2 && m;
      },
      60_000,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}; got ${JSON.stringify(sorted(await P().queryBy(query, 'destination_version')))}`,
      );
    });
    assert.deepEqual(sorted(got), { v1: V1, v2: V2 });
    // By response code as well: the failures are v1's 500s.
    const codes = await P().queryBy(
      `sum by (response_code) (istio_requests_total{${WEB}})`,
      'response_code',
    );
    assert.deepEqual(sorted(codes), { '200': V1 - FAILED + V2, '500': FAILED });
  });

  test('the error ratio (5xx / all) matches the failures sent', async () => {
    const ratio = await eventually('the error ratio', () =>
      P().scalar(
        `sum(istio_requests_total{${WEB},response_code=~"5.."}) / sum(istio_requests_total{${WEB}})`,
      ),
    );
    assert.ok(Math.abs(ratio - FAILED / (V1 + V2)) < 1e-9, `error ratio ${ratio}`);
  });

  test(`p99 from the duration histogram matches the ${V2_DELAY_MS} ms v2 takes`, async () => {
    const count = (v: string) =>
      P().scalar(
        `sum(istio_request_duration_milliseconds_count{${WEB},destination_version="${v}"})`,
      );
    await eventually('every request in the histogram', async () => {
      return (await count('v1')) === V1 && (await count('v2')) === V2;
    });
    const quantile = (q: number, v: string) =>
      P().scalar(
        `histogram_quantile(${q}, sum by (le) (istio_request_duration_milliseconds_bucket{${WEB},destination_version="${v}"}))`,
      );
    // Every v2 request takes at least 150 ms at the server sidecar, so p99 lies above the
    // (100, 250] bucket's floor; the server's durations are within the client's, so p99 lies at
    // most at the top of the bucket of the slowest request the client saw (on a quiet machine:
    // 250). The server's median of v1 (no delay) is at most the client's, rounded up likewise.
    const p99 = (await quantile(0.99, 'v2')) ?? NaN;
    const ceil99 = bucketCeil(Math.max(...took.v2));
    assert.ok(p99 > 100 && p99 <= ceil99, `v2 p99 ${p99} ms, expected in (100, ${ceil99}]`);
    const v1p50 = (await quantile(0.5, 'v1')) ?? NaN;
    const sortedV1 = [...took.v1].sort((a, b) => a - b);
    const ceil50 = bucketCeil(sortedV1[Math.ceil(sortedV1.length / 2) - 1] ?? Infinity);
    assert.ok(v1p50 <= ceil50, `v1 (no delay) p50 ${v1p50} ms, expected at most ${ceil50}`);
  });
});
