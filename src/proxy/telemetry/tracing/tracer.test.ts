import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import { compileTracing } from './config.js';
import { ActiveTrace, NO_SPAN, Tracer } from './tracer.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

function tracer(random: number, extra: Record<string, unknown> = {}): Tracer {
  const config = compileTracing({ random_sampling: { value: random }, ...extra });
  return new Tracer(config, {
    direction: 'OUTBOUND',
    nodeId: 'sidecar~127.0.0.1~a.default~default.svc.cluster.local',
    serviceCluster: 'a.default',
    clusters: {} as ClusterManager,
    log: () => undefined,
  });
}

const req = (headers: Record<string, string>): IncomingMessage =>
  ({ headers }) as unknown as IncomingMessage;

describe('sampling decisions', () => {
  test('random sampling at 100 and 0', () => {
    assert.equal(tracer(100).sampled(req({}), undefined), true);
    assert.equal(tracer(0).sampled(req({}), undefined), false);
    // An empty Percent is 0, as proto3 decodes it.
    assert.equal(compileTracing({ random_sampling: {} }).randomSampling, 0);
    assert.equal(compileTracing({}).randomSampling, 100);
  });

  test('an upstream decision wins over random sampling, both ways', () => {
    assert.equal(tracer(0).sampled(req({}), true), true);
    assert.equal(tracer(100).sampled(req({}), false), false);
  });

  test('x-envoy-force-trace and x-client-trace-id force a trace; overall_sampling caps', () => {
    assert.equal(tracer(0).sampled(req({ 'x-envoy-force-trace': 'true' }), undefined), true);
    assert.equal(tracer(0).sampled(req({ 'x-client-trace-id': 'abc' }), undefined), true);
    const capped = tracer(100, { overall_sampling: { value: 0 } });
    assert.equal(capped.sampled(req({}), undefined), false);
  });

  test('not sampled, with a context upstream: nothing added, the headers go on as they are', () => {
    const added: [string, string][] = [];
    assert.equal(tracer(100).start(req({ traceparent: `00-${T}-${S}-00` }), added), undefined);
    assert.deepEqual(added, []);
  });

  test('not sampled, no context: a new unsampled one, and no span object', () => {
    const added: [string, string][] = [];
    assert.equal(tracer(0).start(req({}), added), NO_SPAN);
    const h = Object.fromEntries(added);
    assert.match(h['traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(h['x-b3-sampled'], '0');
  });

  test('sampled: the span continues the caller; the next hop gets its id', () => {
    const added: [string, string][] = [];
    const t = tracer(0).start(
      req({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' }),
      added,
    );
    assert.ok(t instanceof ActiveTrace);
    assert.equal(t.traceId, T);
    assert.equal(t.parentId, S);
    const h = Object.fromEntries(added);
    assert.equal(h['traceparent'], `00-${T}-${t.spanId}-01`);
    assert.equal(h['x-b3-parentspanid'], S);
  });

  test('a spawned upstream span is what the next hop continues', () => {
    const added: [string, string][] = [];
    const t = tracer(100, { spawn_upstream_span: true }).start(req({}), added);
    assert.ok(t instanceof ActiveTrace && t.upstreamSpanId);
    const h = Object.fromEntries(added);
    assert.equal(h['x-b3-spanid'], t.upstreamSpanId);
    assert.equal(h['x-b3-parentspanid'], t.spanId);
  });
});
