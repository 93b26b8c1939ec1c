import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../config-error.js';
import { routedStream } from '../testing.js';
import type { LocalReply } from '../types.js';
import { compileFaultSettings, FAULT_TYPE } from './config.js';
import type { FaultFilter } from './filter.js';
import { makeFaultFilter } from './filter.js';

type Obj = Record<string, unknown>;

const NAME = 'envoy.filters.http.fault';
const fault = (o: Obj) => ({ [NAME]: { '@type': `type.googleapis.com/${FAULT_TYPE}`, ...o } });
const route = (perFilter?: Obj, cluster = 'c') => ({
  match: { prefix: '/' },
  route: { cluster },
  ...(perFilter ? { typed_per_filter_config: perFilter } : {}),
});
const ALL = { numerator: 100 };
const NONE = { numerator: 0 };

function filter(typed: Obj = {}): FaultFilter {
  return makeFaultFilter(typed, { name: NAME, statPrefix: 'p' }).filter as FaultFilter;
}

test('an abort for 100%: status, body, FI, fault_filter_abort, counted', async () => {
  const f = filter();
  const s = routedStream([route(fault({ abort: { http_status: 503, percentage: ALL } }))], {});
  const reply = (await f.onRequest(s)) as LocalReply;
  assert.deepEqual(reply, { status: 503, body: 'fault filter abort' });
  assert.ok(s.responseFlags.has('FI'));
  assert.equal(s.responseCodeDetails, 'fault_filter_abort');
  assert.equal(f.stats.get('aborts_injected'), 1);
  assert.equal(f.stats.get('active_faults'), 0);
});

test('a gRPC abort answers 200 with the grpc-status for the local reply to use', async () => {
  const s = routedStream([route(fault({ abort: { grpc_status: 14, percentage: ALL } }))], {});
  assert.deepEqual(await filter().onRequest(s), {
    status: 200,
    body: 'fault filter abort',
    grpcStatus: 14,
  });
});

test('no percentage means no fault (Envoy and Istio default); a route without config is untouched', async () => {
  const f = filter();
  assert.equal(
    await f.onRequest(routedStream([route(fault({ abort: { http_status: 500 } }))], {})),
    undefined,
  );
  assert.equal(await f.onRequest(routedStream([route()], {})), undefined);
  assert.equal(f.stats.get('aborts_injected'), 0);
});

test('a delay: DI, counted, then the request continues (or is aborted after it)', async () => {
  const f = filter();
  const s = routedStream([route(fault({ delay: { fixed_delay: '0.01s', percentage: ALL } }))], {});
  const result = f.onRequest(s);
  assert.ok(result instanceof Promise, 'a delay is asynchronous');
  assert.ok(s.responseFlags.has('DI'));
  assert.equal(f.stats.get('active_faults'), 1, 'active while delaying');
  assert.equal(await result, undefined);
  assert.equal(f.stats.get('delays_injected'), 1);
  assert.equal(f.stats.get('active_faults'), 0);
  const both = routedStream(
    [
      route(
        fault({
          delay: { fixed_delay: '0.001s', percentage: ALL },
          abort: { http_status: 418, percentage: ALL },
        }),
      ),
    ],
    {},
  );
  assert.equal(((await f.onRequest(both)) as LocalReply).status, 418);
  assert.ok(both.responseFlags.has('DI') && both.responseFlags.has('FI'));
});

test('a delay ends early when the client goes away', async () => {
  const s = routedStream([route(fault({ delay: { fixed_delay: '3600s', percentage: ALL } }))], {});
  const result = filter().onRequest(s) as Promise<LocalReply | undefined>;
  s.res.emit('close');
  assert.equal(await result, undefined);
});

test('percentages: FractionalPercent with each denominator, sampled per request', async () => {
  const f = filter();
  const share = async (percentage: Obj) => {
    let aborted = 0;
    for (let i = 0; i < 4000; i++) {
      const s = routedStream([route(fault({ abort: { http_status: 500, percentage } }))], {});
      if (await f.onRequest(s)) aborted++;
    }
    return aborted / 4000;
  };
  // Binomial(4000, p): a standard deviation under 0.8%; ±4% never flakes.
  assert.ok(Math.abs((await share({ numerator: 25 })) - 0.25) < 0.04);
  assert.ok(Math.abs((await share({ numerator: 500_000, denominator: 'MILLION' })) - 0.5) < 0.04);
  assert.ok(Math.abs((await share({ numerator: 1000, denominator: 'TEN_THOUSAND' })) - 0.1) < 0.04);
  assert.equal(await share(NONE), 0);
});

test('upstream_cluster, headers and downstream_nodes narrow who gets faults', async () => {
  const f = filter();
  const abort = { http_status: 500, percentage: ALL };
  const only = (o: Obj, headers: Record<string, string> = {}, cluster = 'c') =>
    f.onRequest(routedStream([route(fault({ abort, ...o }), cluster)], { headers }));
  assert.ok(await only({ upstream_cluster: 'c' }));
  assert.equal(await only({ upstream_cluster: 'other' }), undefined);
  const headers = [{ name: 'x-chaos', string_match: { exact: 'on' } }];
  assert.ok(await only({ headers }, { 'x-chaos': 'on' }));
  assert.equal(await only({ headers }, { 'x-chaos': 'off' }), undefined);
  assert.ok(await only({ downstream_nodes: ['n1'] }, { 'x-envoy-downstream-service-node': 'n1' }));
  assert.equal(await only({ downstream_nodes: ['n1'] }), undefined);
});

test('header_abort and header_delay take the fault from the request', async () => {
  const f = filter();
  const s = (headers: Record<string, string>) =>
    routedStream([route(fault({ abort: { header_abort: {}, percentage: ALL } }))], { headers });
  assert.equal(
    ((await f.onRequest(s({ 'x-envoy-fault-abort-request': '429' }))) as LocalReply).status,
    429,
  );
  assert.deepEqual(await f.onRequest(s({ 'x-envoy-fault-abort-grpc-request': '8' })), {
    status: 200,
    body: 'fault filter abort',
    grpcStatus: 8,
  });
  assert.equal(await f.onRequest(s({})), undefined);
  assert.equal(
    await f.onRequest(
      s({ 'x-envoy-fault-abort-request': '500', 'x-envoy-fault-abort-request-percentage': '0' }),
    ),
    undefined,
    'a percentage header narrows the configured one',
  );
  const delayed = routedStream([route(fault({ delay: { header_delay: {}, percentage: ALL } }))], {
    headers: { 'x-envoy-fault-delay-request': '5' },
  });
  assert.ok(f.onRequest(delayed) instanceof Promise);
});

test('max_active_faults: over the limit, no fault (faults_overflow)', async () => {
  const f = filter();
  const s = () =>
    routedStream(
      [route(fault({ delay: { fixed_delay: '3600s', percentage: ALL }, max_active_faults: 1 }))],
      {},
    );
  const first = s();
  const pending = f.onRequest(first);
  assert.equal(f.onRequest(s()), undefined);
  assert.equal(f.stats.get('faults_overflow'), 1);
  first.res.emit('close');
  await pending;
});

test('the filter-level config applies to routes without their own', async () => {
  const f = filter({ abort: { http_status: 401, percentage: ALL } });
  assert.equal(((await f.onRequest(routedStream([route()], {}))) as LocalReply).status, 401);
});

test('config errors name the field', () => {
  const fails = (o: Obj, field: string) =>
    assert.throws(
      () => compileFaultSettings(o),
      (e: unknown) => e instanceof ConfigError && e.field === field,
    );
  fails({ abort: { http_status: 100 } }, 'abort.http_status');
  fails({ abort: {} }, 'abort');
  fails({ delay: {} }, 'delay');
  fails({ delay: { fixed_delay: 'soon' } }, 'delay.fixed_delay');
  fails({ response_rate_limit: {} }, 'response_rate_limit');
});
