// The access log formatter: Istio's default text format operator by operator, Envoy's `-` for
// absent values, truncation, START_TIME formats, JSON encoding with typed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config-error.js';
import type { LogEntry } from './entry.js';
import { compileJsonFormat, compileTextFormat } from './format.js';
import {
  ISTIO_JSON_FORMAT,
  ISTIO_TEXT_FORMAT,
} from '../../../control-plane/generate/access-log.js';

function entry(over: Partial<LogEntry> = {}, req: Record<string, string> = {}): LogEntry {
  const headers: Record<string, string> = {
    ':method': 'GET',
    ':path': '/reviews/1?x=1',
    ':authority': 'reviews:9080',
    'user-agent': 'curl/8',
    'x-request-id': 'rid-1',
    ...req,
  };
  return {
    kind: 'http',
    startDate: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 67)),
    durationMs: 12.9,
    requestDurationMs: 1.2,
    responseDurationMs: 10.4,
    requestHeader: (n) => headers[n],
    responseHeader: (n) => ({ 'x-envoy-upstream-service-time': '7' })[n],
    responseTrailer: (n) => ({ 'grpc-status': '14' })[n],
    responseCode: 200,
    responseFlags: [],
    responseCodeDetails: 'via_upstream',
    connectionTerminationDetails: '',
    bytesReceived: 5,
    bytesSent: 123,
    protocol: 'HTTP/1.1',
    upstreamHost: { ip: '127.0.0.1', port: 4001 },
    upstreamCluster: 'outbound|9080||reviews.default.svc.cluster.local',
    attempts: 1,
    downstreamLocal: { ip: '127.0.0.1', port: 15001 },
    downstreamRemote: { ip: '127.0.0.1', port: 50000 },
    requestedServerName: '',
    routeName: 'default',
    ...over,
  };
}

test("Istio's default text format: every operator, `-` for what is absent", () => {
  const f = compileTextFormat(ISTIO_TEXT_FORMAT);
  assert.equal(
    f(entry()),
    '[2024-01-02T03:04:05.067Z] "GET /reviews/1?x=1 HTTP/1.1" 200 - via_upstream - "-" 5 123 12 7 ' +
      '"-" "curl/8" "rid-1" "reviews:9080" "127.0.0.1:4001" ' +
      'outbound|9080||reviews.default.svc.cluster.local - 127.0.0.1:15001 127.0.0.1:50000 - default\n',
  );
  // X-ENVOY-ORIGINAL-PATH wins over :path; flags join with commas; no response is code 0.
  const failed = entry(
    {
      responseCode: 0,
      responseFlags: ['UH', 'URX'],
      responseCodeDetails: 'no_healthy_upstream',
      upstreamHost: undefined,
      responseHeader: () => undefined,
      routeName: '',
    },
    { 'x-envoy-original-path': '/orig', 'x-forwarded-for': '10.0.0.1' },
  );
  assert.match(
    f(failed),
    /^\[[^\]]+\] "GET \/orig HTTP\/1.1" 0 UH,URX no_healthy_upstream - "-" 5 123 12 - "10.0.0.1" .* "-" outbound\|9080\|\|reviews.default.svc.cluster.local - .* - -\n$/,
  );
});

test('truncation, X?Y fallbacks, START_TIME formats, other operators', () => {
  const e = entry();
  assert.equal(compileTextFormat('%REQ(USER-AGENT):4%|%REQ(X-NONE):3%')(e), 'curl|-');
  assert.equal(compileTextFormat('%REQ(X-NONE?:AUTHORITY)%')(e), 'reviews:9080');
  assert.equal(compileTextFormat('%REQ_WITHOUT_QUERY(:PATH)%')(e), '/reviews/1');
  assert.equal(
    compileTextFormat('%START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)%')(e),
    '2024/01/02 03:04:05.067 1704164645',
  );
  assert.equal(compileTextFormat('%START_TIME(%E3S|%F %T)%')(e), '05.067|2024-01-02 03:04:05');
  assert.equal(
    compileTextFormat(
      '%UPSTREAM_REMOTE_ADDRESS% %UPSTREAM_REMOTE_PORT% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%',
    )(e),
    '127.0.0.1:4001 4001 127.0.0.1 15001',
  );
  assert.equal(
    compileTextFormat('%REQUEST_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION%')(e),
    '1 10 2',
  );
  assert.equal(
    compileTextFormat('%TRAILER(GRPC-STATUS)% %GRPC_STATUS% %GRPC_STATUS(NUMBER)%')(e),
    '14 Unavailable 14',
  );
  assert.equal(compileTextFormat('%DOWNSTREAM_PEER_URI_SAN% %UPSTREAM_LOCAL_ADDRESS%')(e), '- -');
  assert.equal(compileTextFormat('100%% %PROTOCOL%')(e), '100% HTTP/1.1');
  assert.ok(compileTextFormat('%HOSTNAME%')(e).length > 0);
  assert.equal(compileTextFormat('[%REQ(X-NONE)%]', true)(e), '[]', 'omit_empty_values');
  assert.equal(compileTextFormat('%PROTOCOL%')(entry({ protocol: '' })), '-');
});

test('malformed formats and unknown operators are config errors', () => {
  for (const bad of ['%NOPE%', '50% off', '%REQ()%', '%DURATION(x)%', '%GRPC_STATUS(LOUD)%'])
    assert.throws(() => compileTextFormat(bad), ConfigError, bad);
});

test("JSON encoding: Istio's keys, typed values, null for absent, nested maps", () => {
  const f = compileJsonFormat(ISTIO_JSON_FORMAT);
  const line = f(entry());
  assert.ok(line.endsWith('}\n'));
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(o), Object.keys(ISTIO_JSON_FORMAT));
  assert.equal(o['response_code'], 200);
  assert.equal(o['bytes_sent'], 123);
  assert.equal(o['duration'], 12);
  assert.equal(o['response_flags'], '-');
  assert.equal(o['upstream_service_time'], '7');
  assert.equal(o['requested_server_name'], null);
  assert.equal(o['path'], '/reviews/1?x=1');
  assert.equal(o['start_time'], '2024-01-02T03:04:05.067Z');
  const nested = compileJsonFormat(
    { a: { b: '%RESPONSE_CODE%/%PROTOCOL%', c: 1 }, d: '%REQ(X-NONE)%' },
    true,
  );
  assert.deepEqual(JSON.parse(nested(entry())), { a: { b: '200/HTTP/1.1', c: 1 } });
});
