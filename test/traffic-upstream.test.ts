// Upstream resilience through real sidecars: outlier detection (the circuit breaker's three
// states with real traffic, each consecutive counter, the ejection cap and the panic threshold),
// with four endpoints of one app in four localities: three Workloads behind their sidecars, one
// WorkloadEntry served by the test. The client's sidecar is the proxy under test; its admin
// /clusters and /stats show what it decided.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { closeAgent, eventually } from './support/skiff.js';
import {
  TestServer,
  clusterStat,
  clusterStatus,
  closeUpstreamAgent,
  dumpedCluster,
  hostPort,
  outboundCluster,
  send,
} from './support/upstream.js';
import type { Backend, UpstreamMesh } from './support/upstream-mesh.js';
import {
  BACKENDS,
  clusterReady,
  destinationRule,
  hostOf,
  service,
  startUpstreamMesh,
  who,
  workloadEntry,
} from './support/upstream-mesh.js';

const OUTLIER = (name: string, od: string) =>
  `${service(name)}---${destinationRule(name, `outlierDetection: ${od}`)}`;

/**
 * Local-origin failures counted apart: two endpoints of their own, one live (answering 500),
 * one refusing connections; 5xx never ejects here, two connect failures in a row do.
 */
const LOCAL_ORIGIN = (live: number, dead: number) =>
  [
    OUTLIER(
      'local-origin',
      '{ consecutive5xxErrors: 0, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }',
    ).replace('app: backend', 'lo: "yes"'),
    workloadEntry('lo-live', live, 'lo: "yes"'),
    workloadEntry('lo-dead', dead, 'lo: "yes"'),
  ].join('---');

const CONFIG = [
  // The three states: one failure ejects; back after 2 s × ejections, swept every 2 s.
  OUTLIER(
    'breaker',
    '{ consecutive5xxErrors: 1, interval: 2s, baseEjectionTime: 2s, maxEjectionPercent: 100 }',
  ),
  OUTLIER(
    'consecutive',
    '{ consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }',
  ),
  OUTLIER(
    'gateway',
    '{ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }',
  ),
  OUTLIER(
    'eject-half',
    '{ consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 50 }',
  ),
  OUTLIER('eject-default', '{ consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s }'),
  OUTLIER(
    'panic',
    '{ consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100, minHealthPercent: 50 }',
  ),
  OUTLIER(
    'no-panic',
    '{ consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }',
  ),
].join('---');

describe('outlier detection through real sidecars', { timeout: 600_000 }, () => {
  let m: UpstreamMesh;
  const url = (svc: string) => `http://${svc}:8080/`;
  const live = new TestServer('lo-live');
  let deadPort = 0;

  before(async () => {
    await live.listen();
    live.status = 500;
    // A port nobody listens on: connections to it are refused.
    const probe = new TestServer('probe');
    deadPort = await probe.listen();
    await probe.close();
    m = await startUpstreamMesh(
      'skiff-upstream-',
      `${CONFIG}---${LOCAL_ORIGIN(live.port, deadPort)}`,
    );
  });

  after(async () => {
    closeAgent();
    closeUpstreamAgent();
    await m?.stop();
    await live.close();
  });

  async function reset(): Promise<void> {
    m.d.handle = undefined;
    for (const b of BACKENDS) {
      await m.mode(b, 'ok');
      await m.release(b);
    }
  }
  // A failed test leaves no backend failing for the next one.
  afterEach(() => (m ? reset() : undefined));

  /** The outlier view of backend `b` in the client's cluster for `svc`. */
  async function outlier(svc: string, b: Backend) {
    const h = hostOf(m, await clusterStatus(m.client.admin, outboundCluster(svc, 8080)), b);
    return {
      ejected: h.health_status.failed_outlier_check === true,
      ejections: h.outlier?.['outlier_ejections'] ?? 0,
      ejectionTimeMs: h.outlier?.['outlier_ejection_time_ms'] ?? 0,
    };
  }

  test('circuit breaker: ejected (open), answered by the healthy ones, back on probation (half-open) and ejected again at once for longer; closed once healthy', async () => {
    const svc = 'breaker';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    const od = (await dumpedCluster(m.client.admin, cluster))?.['outlier_detection'] as Record<
      string,
      unknown
    >;
    assert.deepEqual(
      {
        consecutive_5xx: od['consecutive_5xx'],
        interval: od['interval'],
        base_ejection_time: od['base_ejection_time'],
        max_ejection_percent: od['max_ejection_percent'],
      },
      { consecutive_5xx: 1, interval: '2s', base_ejection_time: '2s', max_ejection_percent: 100 },
    );
    // Closed: every endpoint answers.
    const seen = new Set<string>();
    await eventually('all four endpoints answer', async () => {
      const r = await send(m.client.outbound, url(svc));
      assert.equal(r.status, 200, r.body);
      seen.add(who(r.body) ?? '?');
      return seen.size === 4;
    });

    // c fails: its first 500 ejects it at once (consecutive5xxErrors: 1).
    await m.mode('c', 500);
    let failures = 0;
    await eventually('c failed once', async () => {
      const r = await send(m.client.outbound, url(svc));
      if (r.status === 500) failures++;
      return failures > 0;
    });
    const open = await outlier(svc, 'c');
    assert.equal(open.ejections, 1, 'one ejection');
    assert.equal(open.ejectionTimeMs, 2000, 'the first ejection lasts baseEjectionTime');
    assert.equal(failures, 1, 'ejected on its first failure');
    // The admin page's per-endpoint stats count the failure.
    const cStats = hostOf(m, await clusterStatus(m.client.admin, cluster), 'c').stats;
    assert.equal(cStats.find((x) => x.name === 'rq_error')?.value, 1);

    // Open: while c is out, the healthy endpoints answer everything. Each request is checked
    // between two looks at the proxy that both show c ejected by the same ejection.
    let answeredWhileOpen = 0;
    for (let i = 0; i < 200 && answeredWhileOpen < 20; i++) {
      const before = await outlier(svc, 'c');
      const r = await send(m.client.outbound, url(svc));
      const active = await clusterStat(
        m.client.admin,
        cluster,
        'outlier_detection.ejections_active',
      );
      const afterLook = await outlier(svc, 'c');
      if (!(before.ejected && afterLook.ejected && afterLook.ejections === before.ejections)) break;
      assert.equal(r.status, 200, `answered while c is ejected: ${r.body}`);
      assert.notEqual(who(r.body), 'c');
      assert.equal(active, 1, 'ejections_active');
      answeredWhileOpen++;
    }
    assert.ok(answeredWhileOpen > 0, 'requests were answered while c was ejected');

    // Half-open: after its ejection time c is back in the pool (on the interval sweep) ...
    await eventually('c back on probation', async () => !(await outlier(svc, 'c')).ejected, 30_000);
    // ... and as it still fails, its next request ejects it again at once, for twice as long.
    let probationFailures = 0;
    await eventually('c tried on probation', async () => {
      const r = await send(m.client.outbound, url(svc));
      if (r.status === 500) probationFailures++;
      return probationFailures > 0;
    });
    const again = await outlier(svc, 'c');
    assert.equal(probationFailures, 1, 'one failure on probation');
    assert.ok(again.ejected, 'ejected again at once');
    assert.equal(again.ejections, 2);
    assert.equal(again.ejectionTimeMs, 4000, 'the second ejection lasts 2 × baseEjectionTime');

    // Closed again: c recovers; once its ejection is over it answers again.
    await m.mode('c', 'ok');
    await eventually('c back', async () => !(await outlier(svc, 'c')).ejected, 30_000);
    await eventually('c answers again', async () => {
      const r = await send(m.client.outbound, url(svc));
      assert.equal(r.status, 200, r.body);
      return who(r.body) === 'c';
    });
    assert.equal(
      await clusterStat(
        m.client.admin,
        cluster,
        'outlier_detection.ejections_enforced_consecutive_5xx',
      ),
      2,
    );
    await reset();
  });

  /** Sends requests to `svc` until `done` says so; returns who answered what. */
  async function until(
    svc: string,
    done: (answers: { from: string; status: number }[]) => boolean | Promise<boolean>,
    max = 2000,
  ): Promise<{ from: string; status: number }[]> {
    const answers: { from: string; status: number }[] = [];
    for (let i = 0; i < max; i++) {
      const r = await send(m.client.outbound, url(svc));
      answers.push({ from: who(r.body) ?? `?${r.status}`, status: r.status });
      if (await done(answers)) return answers;
    }
    throw new Error(
      `${svc}: condition not met after ${max} requests: ${JSON.stringify(answers.slice(-20))}`,
    );
  }

  const failuresOf = (answers: { from: string; status: number }[], b: Backend) =>
    answers.filter((a) => a.from === b && a.status >= 500).length;

  test('consecutive5xxErrors: only an unbroken run of 5xx ejects; a success starts the count over', async () => {
    const svc = 'consecutive';
    await clusterReady(m, m.client.admin, outboundCluster(svc, 8080));
    // d fails every other request: never three in a row.
    let n = 0;
    m.d.handle = (_req, res) => {
      if (n++ % 2 === 0) return false;
      res.statusCode = 500;
      res.end('backend-d 500');
      return true;
    };
    const answers = await until(
      svc,
      (a) => failuresOf(a, 'd') >= 6 && a.filter((x) => x.from === 'd').at(-1)?.status === 200,
    );
    assert.equal((await outlier(svc, 'd')).ejections, 0, 'interleaved failures do not eject');
    assert.ok(answers.every((a) => a.from !== '?'));
    // Now every request fails: the third in a row ejects it, and no fourth reaches it.
    m.d.handle = undefined;
    await m.mode('d', 500);
    const run = await until(
      svc,
      async (a) => failuresOf(a, 'd') >= 3 && (await outlier(svc, 'd')).ejected,
    );
    assert.equal(failuresOf(run, 'd'), 3);
    const stat = (k: string) =>
      clusterStat(m.client.admin, outboundCluster(svc, 8080), `outlier_detection.${k}`);
    assert.equal(await stat('ejections_detected_consecutive_5xx'), 1);
    assert.equal(await stat('ejections_enforced_consecutive_5xx'), 1);
    await reset();
  });

  test('consecutiveGatewayErrors: 502/503/504 eject, other 5xx do not', async () => {
    const svc = 'gateway';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    const od = (await dumpedCluster(m.client.admin, cluster))?.['outlier_detection'] as Record<
      string,
      unknown
    >;
    assert.equal(od['consecutive_gateway_failure'], 2);
    assert.equal(od['enforcing_consecutive_gateway_failure'], 100);
    await m.mode('c', 500);
    await until(svc, (a) => failuresOf(a, 'c') >= 4);
    assert.equal((await outlier(svc, 'c')).ejections, 0, '500 is not a gateway error');
    await m.mode('c', 503);
    const run = await until(svc, async () => (await outlier(svc, 'c')).ejected);
    assert.equal(run.filter((a) => a.from === 'c' && a.status === 503).length, 2);
    assert.equal(
      await clusterStat(
        m.client.admin,
        cluster,
        'outlier_detection.ejections_enforced_consecutive_gateway_failure',
      ),
      1,
    );
    await reset();
  });

  test('maxEjectionPercent: no more than that share of the hosts is ejected; the rest overflow', async () => {
    const svc = 'eject-half';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    for (const b of ['b', 'c', 'd'] as const) await m.mode(b, 500);
    // 2 of 4 is 50%: the third failing host stays in and keeps failing.
    await until(
      svc,
      async () =>
        (await clusterStat(m.client.admin, cluster, 'outlier_detection.ejections_overflow')) >= 1,
    );
    const status = await clusterStatus(m.client.admin, cluster);
    const ejected = BACKENDS.filter((b) => hostOf(m, status, b).health_status.failed_outlier_check);
    assert.equal(ejected.length, 2, `ejected: ${ejected.join(',')}`);
    assert.ok(!ejected.includes('a'));
    assert.equal(
      await clusterStat(m.client.admin, cluster, 'outlier_detection.ejections_active'),
      2,
    );
    await reset();
  });

  test("maxEjectionPercent unset: Envoy's 10% of four hosts allows no ejection at all", async () => {
    const svc = 'eject-default';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    await m.mode('c', 500);
    await until(svc, (a) => failuresOf(a, 'c') >= 3);
    assert.equal((await outlier(svc, 'c')).ejections, 0);
    assert.ok(
      (await clusterStat(m.client.admin, cluster, 'outlier_detection.ejections_overflow')) >= 3,
    );
    await reset();
  });

  test('minHealthPercent: below it the pool panics and uses every host, ejected or not', async () => {
    const svc = 'panic';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    const common = (await dumpedCluster(m.client.admin, cluster))?.['common_lb_config'] as Record<
      string,
      unknown
    >;
    assert.deepEqual(common['healthy_panic_threshold'], { value: 50 });
    for (const b of ['b', 'c', 'd'] as const) await m.mode(b, 500);
    // Three ejected of four: 25% healthy, under 50%.
    await until(svc, async () => {
      const s = await clusterStatus(m.client.admin, cluster);
      return (
        BACKENDS.filter((b) => hostOf(m, s, b).health_status.failed_outlier_check).length === 3
      );
    });
    const s = await clusterStatus(m.client.admin, cluster);
    assert.equal(s.priority_loads[0]?.panic, true);
    const panicBefore = await clusterStat(m.client.admin, cluster, 'lb_healthy_panic');
    // In panic the ejected hosts get traffic again (and fail), the healthy one too.
    const answers = await until(
      svc,
      (a) =>
        failuresOf(a, 'b') + failuresOf(a, 'c') + failuresOf(a, 'd') >= 3 &&
        a.some((x) => x.from === 'a'),
    );
    assert.ok(answers.length >= 4);
    assert.ok(
      (await clusterStat(m.client.admin, cluster, 'lb_healthy_panic')) >=
        panicBefore + answers.length,
    );
    await reset();
  });

  test("minHealthPercent unset (Istio's 0): no panic; with every host ejected, 503 no healthy upstream", async () => {
    const svc = 'no-panic';
    const cluster = outboundCluster(svc, 8080);
    await clusterReady(m, m.client.admin, cluster);
    const common = (await dumpedCluster(m.client.admin, cluster))?.['common_lb_config'] as Record<
      string,
      unknown
    >;
    assert.deepEqual(common['healthy_panic_threshold'], { value: 0 });
    for (const b of BACKENDS) await m.mode(b, 500);
    await until(svc, async () => {
      const s = await clusterStatus(m.client.admin, cluster);
      return BACKENDS.every((b) => hostOf(m, s, b).health_status.failed_outlier_check);
    });
    const r = await send(m.client.outbound, url(svc));
    assert.equal(r.status, 503);
    assert.equal(r.body, 'no healthy upstream');
    assert.ok((await clusterStat(m.client.admin, cluster, 'upstream_cx_none_healthy')) >= 1);
    await reset();
  });
  test('consecutiveLocalOriginFailures (splitExternalLocalOriginErrors): connect failures eject on their own count; 5xx does not', async () => {
    const svc = 'local-origin';
    const cluster = outboundCluster(svc, 8080);
    const ready = await clusterReady(m, m.client.admin, cluster, 2);
    const od = (await dumpedCluster(m.client.admin, cluster))?.['outlier_detection'] as Record<
      string,
      unknown
    >;
    assert.equal(od['split_external_local_origin_errors'], true);
    assert.equal(od['consecutive_local_origin_failure'], 2);
    const hostAt = (c: typeof ready, port: number) => {
      const h = c.host_statuses.find((x) => hostPort(x) === port);
      assert.ok(h, `host ${port} in ${cluster}`);
      return h;
    };
    hostAt(ready, deadPort);
    const stat = (h: ReturnType<typeof hostAt>, name: string) =>
      h.stats.find((x) => x.name === name)?.value ?? 0;
    // Requests until the refusing endpoint is ejected; the live one answers 500 all along.
    let ejectedAt: Awaited<ReturnType<typeof clusterStatus>> | undefined;
    for (let i = 0; i < 200 && !ejectedAt; i++) {
      const r = await send(m.client.outbound, url(svc));
      assert.ok(r.status >= 500, `${r.status} ${r.body}`);
      const c = await clusterStatus(m.client.admin, cluster);
      if (hostAt(c, deadPort).health_status.failed_outlier_check) ejectedAt = c;
    }
    assert.ok(ejectedAt, 'the refusing endpoint was ejected');
    const dead = hostAt(ejectedAt, deadPort);
    assert.equal(stat(dead, 'cx_connect_fail'), 2, 'ejected on its second connect failure');
    assert.equal(dead.outlier?.['outlier_ejections'], 1);
    // Every request now goes to the live endpoint: its 500s never eject it (5xx is off here).
    for (let i = 0; i < 5; i++)
      assert.equal((await send(m.client.outbound, url(svc))).body, 'lo-live');
    const after = hostAt(await clusterStatus(m.client.admin, cluster), live.port);
    assert.equal(after.health_status.failed_outlier_check ?? false, false);
    assert.ok(stat(after, 'rq_error') >= 5, 'the live endpoint answered 5xx');
    const outlierStat = (k: string) =>
      clusterStat(m.client.admin, cluster, `outlier_detection.${k}`);
    assert.equal(await outlierStat('ejections_enforced_consecutive_local_origin_failure'), 1);
    assert.equal(await outlierStat('ejections_enforced_consecutive_5xx'), 0);
  });
});
