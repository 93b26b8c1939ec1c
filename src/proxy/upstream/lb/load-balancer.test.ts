import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Host } from '../host.js';
import { LeastRequest, RandomLb, RoundRobin, makeLoadBalancer } from './load-balancer.js';

const host = (port: number, weight = 1) =>
  new Host({
    address: '127.0.0.1',
    port,
    weight,
    health: 'HEALTHY',
    locality: '',
    priority: 0,
    localityWeight: 0,
    metadata: {},
  });

function tally(pick: () => Host | undefined, n: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const h = pick();
    assert.ok(h);
    counts.set(h.port, (counts.get(h.port) ?? 0) + 1);
  }
  return counts;
}

test('round robin rotates through equal hosts evenly, from a random start', () => {
  const hosts = [host(1), host(2), host(3)];
  const rr = new RoundRobin(hosts);
  const first = rr.pick();
  assert.ok(first);
  const order = [first, rr.pick(), rr.pick(), rr.pick()].map((h) => h?.port);
  // Each host once per cycle, then the cycle repeats.
  assert.deepEqual([...new Set(order.slice(0, 3))].sort(), [1, 2, 3]);
  assert.equal(order[3], order[0]);
  assert.deepEqual([...tally(() => rr.pick(), 300).values()], [100, 100, 100]);
});

test('weighted round robin is smooth and exact over a cycle', () => {
  const rr = new RoundRobin([host(1, 5), host(2, 1), host(3, 1)]);
  const cycle = Array.from({ length: 7 }, () => rr.pick()?.port);
  // nginx's smooth WRR: the heavy host is spread out, never 5 in a row.
  assert.deepEqual(cycle, [1, 1, 2, 1, 3, 1, 1]);
  const counts = tally(() => rr.pick(), 7000);
  assert.deepEqual([counts.get(1), counts.get(2), counts.get(3)], [5000, 1000, 1000]);
});

test('the exclude set (previous attempts) is honoured while another host is left', () => {
  const hosts = [host(1), host(2), host(3)];
  for (const lb of [
    new RoundRobin(hosts),
    new RandomLb(hosts),
    new LeastRequest(hosts),
    new RoundRobin([host(1, 3), ...hosts.slice(1)]),
  ]) {
    const exclude = new Set([hosts[0], hosts[1]].filter((h): h is Host => h !== undefined));
    for (let i = 0; i < 50; i++) {
      const h = lb.pick(exclude);
      assert.ok(h && !exclude.has(h), `${lb.constructor.name} picked an excluded host`);
    }
  }
  // When every host was tried, one is reused rather than failing the request.
  const all = new Set(hosts);
  for (const lb of [new RoundRobin(hosts), new RandomLb(hosts), new LeastRequest(hosts)])
    assert.ok(lb.pick(all));
});

test('least request prefers the idle host', () => {
  const busy = host(1);
  const idle = host(2);
  busy.activeRequests = 5;
  const lb = new LeastRequest([busy, idle]);
  // With two hosts both are always among the two choices: the idle one always wins.
  for (let i = 0; i < 100; i++) assert.equal(lb.pick(), idle);
  // Among many, the idle host is picked far more often than its share.
  const hosts = [host(1), host(2), host(3), host(4)];
  for (const h of hosts.slice(1)) h.activeRequests = 10;
  const counts = tally(() => new LeastRequest(hosts).pick(), 4000);
  // P(idle among two distinct random choices) = 1 − (3/4·2/3) = 1/2, against 1/4 at random.
  assert.ok((counts.get(1) ?? 0) > 1600, JSON.stringify([...counts]));
});

test('random spreads picks; no hosts means no pick; the policy picks the balancer', () => {
  const counts = tally(() => new RandomLb([host(1), host(2)]).pick(), 4000);
  assert.ok(Math.abs((counts.get(1) ?? 0) / 4000 - 0.5) < 0.05);
  for (const lb of [new RoundRobin([]), new RandomLb([]), new LeastRequest([])])
    assert.equal(lb.pick(), undefined);
  assert.ok(makeLoadBalancer('RANDOM', []) instanceof RandomLb);
  assert.ok(makeLoadBalancer('LEAST_REQUEST', []) instanceof LeastRequest);
  assert.ok(makeLoadBalancer('ROUND_ROBIN', []) instanceof RoundRobin);
  assert.ok(makeLoadBalancer('CLUSTER_PROVIDED', []) instanceof RoundRobin);
});
