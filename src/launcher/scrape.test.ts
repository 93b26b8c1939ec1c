// Istio's prometheus.io annotations on a Workload: where its app's metrics are, locally.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyTarget, scrapePlan } from './scrape.js';

const ports = [
  { containerPort: 8080, name: 'http', listenPort: 21001, appPort: 21002 },
  { containerPort: 9090, name: 'metrics', listenPort: 21003, appPort: 21004 },
];

test('no annotations: scraped, nothing merged', () => {
  assert.deepEqual(scrapePlan('default/a', {}, ports), { scrape: true });
});

test('scrape "false" opts out of scraping', () => {
  assert.deepEqual(scrapePlan('default/a', { 'prometheus.io/scrape': 'false' }, ports), {
    scrape: false,
  });
});

test('scrape "true": the port is a containerPort, mapped to where the app listens', () => {
  assert.deepEqual(
    scrapePlan(
      'default/a',
      {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        'prometheus.io/path': '/stats',
      },
      ports,
    ),
    { scrape: true, appMetricsUrl: 'http://127.0.0.1:21004/stats' },
  );
  assert.deepEqual(scrapePlan('default/a', { 'prometheus.io/scrape': 'true' }, ports), {
    scrape: true,
    appMetricsUrl: 'http://127.0.0.1:21002/metrics',
  });
});

test('what cannot be scraped is refused with the annotation named', () => {
  const on = { 'prometheus.io/scrape': 'true' };
  assert.throws(() => scrapePlan('default/a', { ...on, 'prometheus.io/port': '7000' }, ports), {
    code: 'ERR_BAD_ANNOTATION',
    message: /prometheus\.io\/port.*"7000".*8080, 9090/,
  });
  assert.throws(() => scrapePlan('default/a', on, []), { code: 'ERR_BAD_ANNOTATION' });
  assert.throws(
    () => scrapePlan('default/a', { ...on, 'prometheus.io/scheme': 'https' }, ports),
    /only http/,
  );
});

test('a proxy target is its merged endpoint', () => {
  assert.deepEqual(
    proxyTarget({ name: 'a-0', namespace: 'ns', labels: { app: 'a' }, statusPort: 21009 }),
    {
      address: '127.0.0.1:21009',
      metricsPath: '/stats/prometheus',
      pod: 'a-0',
      namespace: 'ns',
      labels: { app: 'a' },
    },
  );
});
