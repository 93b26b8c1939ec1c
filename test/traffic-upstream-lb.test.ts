// Load balancing through real sidecars: DestinationRule loadBalancer (ROUND_ROBIN, LEAST_REQUEST,
// Istio's default when nothing is set, RANDOM, PASSTHROUGH), consistent hash by header, cookie
// (issued with its ttl and path when absent), source IP and query parameter over ring hash and
// Maglev, locality load balancing from the workloads' labels (failover, failover to a region,
// distribute, failoverPriority), and warmup (slow start) of an endpoint added later.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { closeAgent, eventually } from './support/skiff.js';
import {
  TestServer,
  closeUpstreamAgent,
  clusterStatus,
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
  tally,
  who,
  workloadEntry,
} from './support/upstream-mesh.js';

type Obj = Record<string, unknown>;

const rule = (name: string, policy: string, selector?: string) =>
  `${service(name, selector)}---${destinationRule(name, policy)}`;

const OUTLIER =
  'outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: 100 }';

const SUBSETS = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: subsets }
spec:
  host: subsets
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets:
  - name: gold
    labels: { pool: gold }
    trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
  - name: all
    labels: { app: backend }
`;

const SUBSET_ROUTE = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: subsets }
spec:
  hosts: [subsets]
  http:
  - match: [{ headers: { x-subset: { exact: gold } } }]
    route: [{ destination: { host: subsets, subset: gold } }]
  - route: [{ destination: { host: subsets, subset: all } }]
`;

const PORTS = `
apiVersion: v1
kind: Service
metadata: { name: ports }
spec:
  selector: { app: backend }
  ports: [{ name: http, port: 8080, targetPort: http }, { name: http-alt, port: 9090, targetPort: http }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ports }
spec:
  host: ports
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    portLevelSettings:
    - port: { number: 9090 }
      loadBalancer: { consistentHash: { httpHeaderName: x-user } }
`;

function config(warm: { w1: number; l1: number }): string {
  return [
    rule('rr', 'loadBalancer: { simple: ROUND_ROBIN }'),
    rule('lr', 'loadBalancer: { simple: LEAST_REQUEST }'),
    service('plain'),
    rule('random', 'loadBalancer: { simple: RANDOM }'),
    rule('passthrough', 'loadBalancer: { simple: PASSTHROUGH }'),
    rule(
      'by-header',
      'loadBalancer: { consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 2048 } } }',
    ),
    rule(
      'by-cookie',
      'loadBalancer: { consistentHash: { httpCookie: { name: session, path: /, ttl: 3600s } } }',
    ),
    rule('by-source', 'loadBalancer: { consistentHash: { useSourceIp: true } }'),
    rule('by-query', 'loadBalancer: { consistentHash: { httpQueryParameterName: user } }'),
    rule(
      'by-maglev',
      'loadBalancer: { consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 1021 } } }',
    ),
    rule(
      'by-legacy',
      'loadBalancer: { consistentHash: { httpHeaderName: x-user, minimumRingSize: 512 } }',
    ),
    rule('loc-failover', OUTLIER),
    rule(
      'loc-failover-to',
      `${OUTLIER}\nloadBalancer: { localityLbSetting: { failover: [{ from: r1, to: r3 }] } }`,
    ),
    rule(
      'loc-distribute',
      'loadBalancer: { localityLbSetting: { distribute: [{ from: "r1/z1/*", to: { "r1/z1/*": 20, "r1/z2/*": 80 } }] } }',
    ),
    rule(
      'loc-priority',
      `${OUTLIER}\nloadBalancer: { localityLbSetting: { failoverPriority: [pool] } }`,
    ),
    rule(
      'warm',
      'loadBalancer: { warmup: { duration: 120s, minimumPercent: 10, aggression: 1 } }',
      'warm: "yes"',
    ),
    rule(
      'warm-legacy',
      'loadBalancer: { simple: ROUND_ROBIN, warmupDurationSecs: 120s }',
      'warmlegacy: "yes"',
    ),
    // Subsets with their own policy: the whole service round robin, subset gold (a and c)
    // hashed by a header.
    `${service('subsets')}---${SUBSETS}---${SUBSET_ROUTE}`,
    // Port-level settings: two ports to the same endpoints, 9090 with its own balancer.
    PORTS,
    workloadEntry('warm-1', warm.w1, 'warm: "yes"'),
    workloadEntry('warm-legacy-1', warm.l1, 'warmlegacy: "yes"'),
  ].join('---');
}

describe('load balancing through real sidecars', { timeout: 600_000 }, () => {
  let m: UpstreamMesh;
  const warm = {
    w1: new TestServer('w1'),
    w2: new TestServer('w2'),
    l1: new TestServer('l1'),
    l2: new TestServer('l2'),
  };
  const url = (svc: string) => `http://${svc}:8080/`;

  before(async () => {
    for (const s of Object.values(warm)) await s.listen();
    m = await startUpstreamMesh(
      'skiff-upstream-lb-',
      config({ w1: warm.w1.port, l1: warm.l1.port }),
    );
  });

  after(async () => {
    closeAgent();
    closeUpstreamAgent();
    await m?.stop();
    for (const s of Object.values(warm)) await s.close();
  });

  async function reset(): Promise<void> {
    for (const b of BACKENDS) {
      await m.mode(b, 'ok');
      await m.release(b);
    }
  }

  // A failed test leaves no backend failing or holding for the next one.
  afterEach(() => (m ? reset() : undefined));

  const lbPolicy = async (svc: string, admin = m.client.admin) =>
    (await dumpedCluster(admin, outboundCluster(svc, 8080)))?.['lb_policy'];

  test('ROUND_ROBIN: each endpoint in turn', async () => {
    await clusterReady(m, m.client.admin, outboundCluster('rr', 8080));
    assert.equal(await lbPolicy('rr'), 'ROUND_ROBIN');
    const { by, order, failed } = await tally(m.client.outbound, url('rr'), 40);
    assert.equal(failed, 0);
    assert.deepEqual(by, { a: 10, b: 10, c: 10, d: 10 });
    for (let i = 4; i < order.length; i++)
      assert.equal(order[i], order[i - 4], `a rotation: ${order.join('')}`);
  });

  test('LEAST_REQUEST, and Istio’s default with no DestinationRule: a busy endpoint gets no new request', async () => {
    for (const svc of ['lr', 'plain']) {
      await clusterReady(m, m.client.admin, outboundCluster(svc, 8080));
      assert.equal(await lbPolicy(svc), 'LEAST_REQUEST', svc);
      await m.mode('a', 'hold');
      const held: Promise<unknown>[] = [];
      try {
        // One request at a time until one lands on a and stays there (the others are answered
        // at once): then a has one request in flight and every other endpoint none.
        let inFlight = false;
        await eventually(`a request held at a (${svc})`, async () => {
          if (!inFlight) {
            inFlight = true;
            held.push(send(m.client.outbound, url(svc)).finally(() => (inFlight = false)));
          }
          return (await m.held('a')) >= 1 && inFlight;
        });
        // The power of two choices (two distinct hosts) always prefers an idle endpoint to a;
        // round robin or random would send a a quarter of these.
        const { by, failed } = await tally(m.client.outbound, url(svc), 40);
        assert.equal(failed, 0);
        assert.equal(by['a'], undefined, `${svc}: ${JSON.stringify(by)}`);
        assert.equal(await m.held('a'), 1);
      } finally {
        await m.mode('a', 'ok');
        await m.release('a');
        await Promise.all(held);
      }
    }
  });

  test('RANDOM: picks at random, not in turn', async () => {
    await clusterReady(m, m.client.admin, outboundCluster('random', 8080));
    assert.equal(await lbPolicy('random'), 'RANDOM');
    const { by, order } = await tally(m.client.outbound, url('random'), 200);
    // About 50 each (sd 6): 20 is five deviations below.
    for (const b of BACKENDS) assert.ok((by[b] ?? 0) >= 20, JSON.stringify(by));
    // Round robin never picks the same endpoint twice in a row; 200 random picks almost surely do.
    assert.ok(
      order.some((b, i) => i > 0 && b === order[i - 1]),
      'some endpoint picked twice in a row',
    );
  });

  test('PASSTHROUGH: no balancing, the caller names the endpoint (x-envoy-original-dst-host)', async () => {
    const cluster = await dumpedCluster(m.client.admin, outboundCluster('passthrough', 8080));
    assert.equal(cluster?.['type'], 'ORIGINAL_DST');
    assert.equal(cluster?.['lb_policy'], 'CLUSTER_PROVIDED');
    assert.deepEqual(cluster?.['original_dst_lb_config'], {
      use_http_header: true,
      http_header_name: 'x-envoy-original-dst-host',
    });
    for (const b of ['b', 'c', 'd'] as const) {
      const { by } = await tally(m.client.outbound, url('passthrough'), 10, {
        headers: { 'x-envoy-original-dst-host': `127.0.0.1:${m.portOf[b]}` },
      });
      assert.deepEqual(by, { [b]: 10 });
    }
  });

  /** Sends 3 requests per key; each key must stick to one endpoint; returns key → endpoint. */
  async function sticky(keys: number, request: (key: number) => Promise<string | undefined>) {
    const map = new Map<number, string>();
    for (let k = 0; k < keys; k++) {
      for (let i = 0; i < 3; i++) {
        const b = await request(k);
        assert.ok(b, `key ${k}: an answer`);
        if (!map.has(k)) map.set(k, b);
        assert.equal(b, map.get(k), `key ${k} sticks to ${map.get(k)}`);
      }
    }
    assert.ok(
      new Set(map.values()).size >= 2,
      `keys spread over endpoints: ${[...map.values()].join('')}`,
    );
    return map;
  }

  const byHeader = (svc: string) => async (k: number) =>
    who((await send(m.client.outbound, url(svc), { headers: { 'x-user': `user-${k}` } })).body);

  test('consistentHash httpHeaderName over ringHash (minimumRingSize)', async () => {
    const c = await dumpedCluster(m.client.admin, outboundCluster('by-header', 8080));
    assert.equal(c?.['lb_policy'], 'RING_HASH');
    assert.deepEqual(c?.['ring_hash_lb_config'], { minimum_ring_size: 2048 });
    await sticky(24, byHeader('by-header'));
  });

  test('consistentHash maglev (tableSize)', async () => {
    const c = await dumpedCluster(m.client.admin, outboundCluster('by-maglev', 8080));
    assert.equal(c?.['lb_policy'], 'MAGLEV');
    assert.deepEqual(c?.['maglev_lb_config'], { table_size: 1021 });
    await sticky(24, byHeader('by-maglev'));
  });

  test('consistentHash with the older top-level minimumRingSize', async () => {
    const c = await dumpedCluster(m.client.admin, outboundCluster('by-legacy', 8080));
    assert.equal(c?.['lb_policy'], 'RING_HASH');
    assert.deepEqual(c?.['ring_hash_lb_config'], { minimum_ring_size: 512 });
    await sticky(24, byHeader('by-legacy'));
  });

  test('consistentHash httpQueryParameterName', async () => {
    await sticky(24, async (k) =>
      who((await send(m.client.outbound, `${url('by-query')}?a=1&user=u${k}`)).body),
    );
  });

  test('consistentHash useSourceIp: each client address sticks to one endpoint', async () => {
    await sticky(24, async (k) =>
      who(
        (await send(m.client.outbound, url('by-source'), { localAddress: `127.0.0.${10 + k}` }))
          .body,
      ),
    );
  });

  test('consistentHash httpCookie: issued with its ttl and path when absent, then followed', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 16; i++) {
      // A new connection and no cookie: the proxy picks by a cookie it makes up and sends it.
      const first = await send(m.client.outbound, url('by-cookie'), { fresh: true });
      assert.equal(first.status, 200);
      const setCookie = first.headers['set-cookie']?.[0] ?? '';
      const match = /^session="([0-9a-f]{16})"; Max-Age=3600; Path=\/; HttpOnly$/.exec(setCookie);
      assert.ok(match, `set-cookie: ${setCookie}`);
      const owner = who(first.body);
      seen.add(owner ?? '?');
      for (let j = 0; j < 4; j++) {
        const r = await send(m.client.outbound, url('by-cookie'), {
          headers: { cookie: `a=b; session="${match[1]}"` },
        });
        assert.equal(who(r.body), owner, 'the cookie keeps the endpoint');
        assert.equal(r.headers['set-cookie'], undefined, 'no new cookie when one is sent');
      }
    }
    assert.ok(seen.size >= 2, `cookies spread over endpoints: ${[...seen].join('')}`);
  });

  /** Round robin: 40 requests, ten each, in a fixed rotation. */
  async function rotation(target: string, headers: Record<string, string> = {}): Promise<void> {
    const { by, order, failed } = await tally(m.client.outbound, target, 40, { headers });
    assert.equal(failed, 0);
    assert.deepEqual(by, { a: 10, b: 10, c: 10, d: 10 }, target);
    for (let i = 4; i < order.length; i++)
      assert.equal(order[i], order[i - 4], `a rotation: ${order.join('')}`);
  }

  test('subsets with their own trafficPolicy: the subset hashes, the rest rotates', async () => {
    const gold = outboundCluster('subsets', 8080, 'gold');
    await clusterReady(m, m.client.admin, gold, 2);
    await clusterReady(m, m.client.admin, outboundCluster('subsets', 8080, 'all'));
    assert.equal((await dumpedCluster(m.client.admin, gold))?.['lb_policy'], 'RING_HASH');
    for (const c of [outboundCluster('subsets', 8080), outboundCluster('subsets', 8080, 'all')])
      assert.equal((await dumpedCluster(m.client.admin, c))?.['lb_policy'], 'ROUND_ROBIN', c);
    // Subset gold: only a and c, each key sticking to one of them.
    const keys = await sticky(16, async (k) =>
      who(
        (
          await send(m.client.outbound, url('subsets'), {
            headers: { 'x-subset': 'gold', 'x-user': `user-${k}` },
          })
        ).body,
      ),
    );
    assert.deepEqual([...new Set(keys.values())].sort(), ['a', 'c']);
    // Subset all inherits the rule's round robin, whatever the header.
    await rotation(url('subsets'), { 'x-user': 'user-1' });
  });

  test('portLevelSettings: the port’s own balancer over the rule’s', async () => {
    await clusterReady(m, m.client.admin, outboundCluster('ports', 8080));
    await clusterReady(m, m.client.admin, outboundCluster('ports', 9090));
    assert.equal(await lbPolicy('ports'), 'ROUND_ROBIN');
    const alt = await dumpedCluster(m.client.admin, outboundCluster('ports', 9090));
    assert.equal(alt?.['lb_policy'], 'RING_HASH');
    await rotation(url('ports'), { 'x-user': 'user-1' });
    await sticky(16, async (k) =>
      who(
        (
          await send(m.client.outbound, 'http://ports:9090/', {
            headers: { 'x-user': `user-${k}` },
          })
        ).body,
      ),
    );
  });

  describe('locality (client-r1 in r1/z1; a r1/z1, b r1/z2, c r2/z3, d r3/z4)', () => {
    const cluster = (svc: string) => outboundCluster(svc, 8080);
    const fromR1 = (svc: string, n: number) => tally(m.clientR1.outbound, url(svc), n);

    test('endpoints carry the locality of their labels (Workload and WorkloadEntry)', async () => {
      const c = await clusterReady(m, m.clientR1.admin, cluster('loc-failover'));
      const loc = (b: Backend) => {
        const l = hostOf(m, c, b).locality;
        return [l.region, l.zone].join('/');
      };
      assert.deepEqual(BACKENDS.map(loc), ['r1/z1', 'r1/z2', 'r2/z3', 'r3/z4']);
    });

    test('failover: the same zone first, then the same region, then the rest', async () => {
      const c = await clusterReady(m, m.clientR1.admin, cluster('loc-failover'));
      assert.deepEqual(
        BACKENDS.map((b) => hostOf(m, c, b).priority),
        [0, 1, 2, 2],
      );
      assert.deepEqual(await fromR1('loc-failover', 20).then((t) => t.by), { a: 20 });
      await m.mode('a', 500);
      await eventually('a ejected, b takes over', async () => {
        const r = await send(m.clientR1.outbound, url('loc-failover'));
        return r.status === 200 && who(r.body) === 'b';
      });
      assert.deepEqual(await fromR1('loc-failover', 20).then((t) => t.by), { b: 20 });
      await m.mode('b', 500);
      await eventually('b ejected', async () => {
        await send(m.clientR1.outbound, url('loc-failover'));
        const s = await clusterStatus(m.clientR1.admin, cluster('loc-failover'));
        return hostOf(m, s, 'b').health_status.failed_outlier_check === true;
      });
      const rest = await fromR1('loc-failover', 40);
      assert.equal(rest.failed, 0);
      assert.deepEqual(Object.keys(rest.by).sort(), ['c', 'd']);
      await reset();
    });

    test('failover from r1 to r3: r3 before any other region', async () => {
      const c = await clusterReady(m, m.clientR1.admin, cluster('loc-failover-to'));
      assert.deepEqual(
        BACKENDS.map((b) => hostOf(m, c, b).priority),
        [0, 1, 3, 2],
      );
      const dumped = await dumpedCluster(m.clientR1.admin, cluster('loc-failover-to'));
      assert.deepEqual((dumped?.['common_lb_config'] as Obj)['locality_weighted_lb_config'], {});
      for (const b of ['a', 'b'] as const) {
        await m.mode(b, 500);
        await eventually(`${b} ejected`, async () => {
          await send(m.clientR1.outbound, url('loc-failover-to'));
          const s = await clusterStatus(m.clientR1.admin, cluster('loc-failover-to'));
          return hostOf(m, s, b).health_status.failed_outlier_check === true;
        });
      }
      assert.deepEqual(await fromR1('loc-failover-to', 20).then((t) => t.by), { d: 20 });
      await reset();
    });

    test('distribute: 20% to r1/z1, 80% to r1/z2, nothing elsewhere', async () => {
      const c = await clusterReady(m, m.clientR1.admin, cluster('loc-distribute'), 2);
      assert.deepEqual(c.host_statuses.map((h) => m.byPort.get(hostPort(h))).sort(), ['a', 'b']);
      // Localities are weighted round robin (Envoy's scheduler), not random: 40 and 160.
      const { by, failed } = await fromR1('loc-distribute', 200);
      assert.equal(failed, 0);
      assert.ok(Math.abs((by['b'] ?? 0) / 200 - 0.8) <= 0.02, JSON.stringify(by));
      assert.equal((by['a'] ?? 0) + (by['b'] ?? 0), 200);
    });

    test('failoverPriority: endpoints sharing the proxy’s label values first', async () => {
      const c = await clusterReady(m, m.clientR1.admin, cluster('loc-priority'));
      assert.deepEqual(
        BACKENDS.map((b) => hostOf(m, c, b).priority),
        [0, 1, 0, 1],
      );
      const gold = await fromR1('loc-priority', 40);
      assert.deepEqual(Object.keys(gold.by).sort(), ['a', 'c']);
      for (const b of ['a', 'c'] as const) await m.mode(b, 500);
      await eventually('a and c ejected', async () => {
        await send(m.clientR1.outbound, url('loc-priority'));
        const s = await clusterStatus(m.clientR1.admin, cluster('loc-priority'));
        return ['a', 'c'].every(
          (b) => hostOf(m, s, b as Backend).health_status.failed_outlier_check,
        );
      });
      const rest = await fromR1('loc-priority', 40);
      assert.equal(rest.failed, 0);
      assert.deepEqual(Object.keys(rest.by).sort(), ['b', 'd']);
      await reset();
    });
  });

  describe('warmup: an endpoint added later ramps up; the first ones do not', () => {
    for (const { svc, label, added, policy } of [
      { svc: 'warm', label: 'warm: "yes"', added: 'w2', policy: 'LEAST_REQUEST' },
      { svc: 'warm-legacy', label: 'warmlegacy: "yes"', added: 'l2', policy: 'ROUND_ROBIN' },
    ] as const) {
      test(`${svc} (${policy})`, async () => {
        const name = outboundCluster(svc, 8080);
        await clusterReady(m, m.client.admin, name, 1);
        const c = await dumpedCluster(m.client.admin, name);
        assert.equal(c?.['lb_policy'], policy);
        const lbConfig = c?.[
          policy === 'ROUND_ROBIN' ? 'round_robin_lb_config' : 'least_request_lb_config'
        ] as Obj;
        const slow = lbConfig['slow_start_config'] as Obj;
        assert.equal(slow['slow_start_window'], '120s');
        if (svc === 'warm') {
          assert.deepEqual(slow['aggression'], { default_value: 1, runtime_key: '(' });
          assert.deepEqual(slow['min_weight_percent'], { value: 10 });
        }
        m.write(`${svc}-2.yaml`, workloadEntry(`${svc}-2`, warm[added].port, label));
        await clusterReady(m, m.client.admin, name, 2);
        const { by, failed } = await tally(m.client.outbound, url(svc), 200);
        assert.equal(failed, 0);
        // Weight × max(10%, t / 120 s): a few seconds in, the new endpoint gets about a tenth.
        const share = warm[added].seen.length / 200;
        assert.ok(
          share > 0 && share < 0.3,
          `the added endpoint's share ${share} (${JSON.stringify(by)})`,
        );
      });
    }
  });
});
