// The telemetry variants' config is valid, the Zipkin receiver counts spans, and the checks tell
// a variant that runs as its name says from one that does not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/resource.js';
import {
  accessLogLines,
  BARE_YAML,
  checkTelemetry,
  fullTelemetryYaml,
  samplingPercents,
  startZipkin,
  ZIPKIN_CLUSTER,
  type SidecarTelemetry,
} from './telemetry.js';

test('both configs are valid: a Telemetry; a ConfigMap, a ServiceEntry and a Telemetry', () => {
  const bare = parseConfigText(BARE_YAML, 'telemetry.yaml');
  assert.deepEqual(bare.problems.map(formatProblem), []);
  assert.deepEqual(
    bare.resources.map((r) => r.kind),
    ['Telemetry'],
  );
  const full = parseConfigText(fullTelemetryYaml(12345), 'telemetry.yaml');
  assert.deepEqual(full.problems.map(formatProblem), []);
  assert.deepEqual(
    full.resources.map((r) => r.kind),
    ['ConfigMap', 'ServiceEntry', 'Telemetry'],
  );
  assert.match(fullTelemetryYaml(12345), /ports: \{ http: 12345 \}/);
});

test('the Zipkin receiver counts the spans POSTed to /api/v2/spans', async () => {
  const zipkin = await startZipkin();
  try {
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${zipkin.port}/api/v2/spans`, { method: 'POST', body });
    assert.equal((await post('[{"id":"a"},{"id":"b"}]')).status, 202);
    assert.equal((await post('not json')).status, 400);
    assert.equal(zipkin.spans(), 2);
  } finally {
    await zipkin.close();
  }
});

const LOG_LINE =
  '[2026-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 16 3 2 "-" "hey/0.0.1" ' +
  '"id" "echo:9080" "127.0.0.1:1" outbound|9080||echo.default.svc.cluster.local - 127.0.0.1:2 ' +
  '127.0.0.1:3 - default';

test('access log lines are told from the proxy own messages', () => {
  const log = `2026-01-01T00:00:00.000Z proxy client-0: started\n${LOG_LINE}\n${LOG_LINE}\n`;
  assert.equal(accessLogLines(log), 2);
  assert.deepEqual(
    samplingPercents('{"random_sampling": {"value": 1}}, "random_sampling":{}'),
    [1, 0],
  );
});

describe('checkTelemetry', () => {
  const stats = '"name": "istio.stats"';
  const exchange = '"name": "istio.metadata_exchange"';
  const logger = '"name": "envoy.access_loggers.file"';
  const tracer = `"name": "envoy.tracers.zipkin", "${ZIPKIN_CLUSTER}", "random_sampling": {"value": 1}`;
  const counted = 'istio_requests_total{reporter="source"} 3\n';
  const sidecar = (o: Partial<SidecarTelemetry>): SidecarTelemetry => ({
    label: 'outbound',
    configDump: '',
    prometheus: '',
    log: '',
    ...o,
  });

  test('skiff: metrics on, no access log, no tracer', () => {
    const ok = sidecar({ configDump: `${exchange} ${stats}`, prometheus: counted });
    assert.deepEqual(checkTelemetry('default', [ok]).problems, []);
    assert.deepEqual(checkTelemetry('default', [sidecar({ configDump: exchange })]).problems, [
      'the outbound sidecar has no istio.stats filter',
      "the outbound sidecar's /stats/prometheus has no istio_requests_total",
    ]);
    const logs = sidecar({ configDump: `${stats} ${logger}`, prometheus: counted });
    assert.deepEqual(checkTelemetry('default', [logs]).problems, [
      'the outbound sidecar has an access logger',
    ]);
  });

  test('skiff-bare: no istio.stats and no istio_requests_total; metadata exchange noted', () => {
    const ok = checkTelemetry('bare', [sidecar({ configDump: exchange })]);
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.notes, ['outbound: istio.metadata_exchange still present']);
    const on = checkTelemetry('bare', [sidecar({ configDump: stats, prometheus: counted })]);
    assert.deepEqual(on.problems, [
      'the outbound sidecar still has the istio.stats filter',
      'the outbound sidecar still counts istio_requests_total',
    ]);
  });

  test('skiff-telemetry: logger, lines written, tracer at 1%, spans received', () => {
    const full = sidecar({
      configDump: `${stats} ${logger} ${tracer}`,
      prometheus: counted,
      log: `${LOG_LINE}\n`,
    });
    const ok = checkTelemetry('full', [full], 7);
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.notes, ['outbound: 1 access log lines', 'Zipkin receiver: 7 spans']);
    const quiet = checkTelemetry(
      'full',
      [{ ...full, log: '', configDump: full.configDump.replace('"value": 1', '"value": 100') }],
      0,
    );
    assert.deepEqual(quiet.problems, [
      'the outbound sidecar wrote no access log line',
      'the outbound sidecar samples at 100%, not 1%',
      'the Zipkin receiver got no span',
    ]);
  });
});
