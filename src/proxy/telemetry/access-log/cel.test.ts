// The CEL subset of access log filters: Istio's documented examples evaluate as CEL would, and
// everything outside the subset is refused with what and where.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogEntry } from './entry.js';
import { celProblem, compileCel } from './cel.js';

function entry(code: number, durationMs: number, headers: Record<string, string> = {}): LogEntry {
  const h: Record<string, string> = { ':method': 'GET', ':path': '/api/x?y=1', ...headers };
  return {
    responseCode: code,
    durationMs,
    requestHeader: (n: string) => h[n],
    responseHeader: () => undefined,
    responseTrailer: () => undefined,
    responseFlags: code === 503 ? ['UH'] : [],
    upstreamCluster: 'outbound|9080||r',
  } as unknown as LogEntry;
}

test('comparisons, && || !, headers, durations, string methods', () => {
  const cases: [string, LogEntry, boolean][] = [
    ['response.code >= 400', entry(503, 1), true],
    ['response.code >= 400', entry(200, 1), false],
    ['response.code == 503', entry(503, 1), true],
    ['response.code >= 500 || response.code == 404', entry(404, 1), true],
    ["request.headers['x-debug'] == 'true'", entry(200, 1, { 'x-debug': 'true' }), true],
    ["request.headers['X-Debug'] == 'true'", entry(200, 1), false],
    ["!(request.headers['x-debug'] == 'true')", entry(200, 1), false],
    ["'x-debug' in request.headers", entry(200, 1, { 'x-debug': '' }), true],
    ["request.duration > duration('100ms')", entry(200, 150), true],
    ["request.duration > duration('1.5s')", entry(200, 150), false],
    ["request.url_path.startsWith('/api') && request.method == 'GET'", entry(200, 1), true],
    ["xds.cluster_name.contains('9080') && !(response.code < 400)", entry(503, 1), true],
    ['(response.code == 200 || response.code == 201) && true', entry(201, 1), true],
    ['response.code != 200', entry(0, 1), false],
  ];
  for (const [expr, e, want] of cases) assert.equal(compileCel(expr)(e), want, expr);
});

test('anything outside the subset is a clear error', () => {
  const errors: [string, RegExp][] = [
    ['', /empty/],
    ['response.code', /must be a condition/],
    ["response.code == '200'", /cannot compare int with string/],
    ['response.duration > 1', /unknown attribute "response.duration".*request.duration/],
    ['duration > 100', /expected "\("/],
    ['request.duration > 100', /cannot compare duration with int.*duration\('1s'\)/],
    ['size(request.headers) > 1', /unknown attribute "size"/],
    ["request.path.matches('x')", /only startsWith, endsWith and contains/],
    ['response.code >= 400 &&', /ends too early/],
    ["request.headers[x] == 'y'", /header name in quotes/],
    ["duration('soon') > request.duration", /invalid duration/],
    ['response.code >= 400 ; true', /unexpected ";"/],
  ];
  for (const [expr, re] of errors) {
    const problem = celProblem(expr);
    assert.ok(problem, `${expr} should be refused`);
    assert.match(problem, re, expr);
  }
  assert.equal(celProblem('response.code >= 400'), undefined);
});
