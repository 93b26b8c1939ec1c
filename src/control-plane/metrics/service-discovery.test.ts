// Prometheus HTTP SD: the control plane, then every proxy the launcher recorded, as Istio's
// kubernetes-pods relabelling labels them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SCRAPE_TARGETS_FILE, httpServiceDiscovery, promLabelName } from './service-discovery.js';
import { durationMs, prometheusConfig } from './prometheus-config.js';

test('label names as Prometheus labelmap leaves them', () => {
  assert.equal(promLabelName('app'), 'app');
  assert.equal(promLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
  assert.equal(promLabelName('9lives'), '_9lives');
});

test('lists the control plane, then the recorded proxies', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-sd-'));
  const lines: string[] = [];
  const sd = () =>
    httpServiceDiscovery({ stateDir: dir, httpAddress: '127.0.0.1:9', log: (l) => lines.push(l) });
  try {
    assert.deepEqual(await sd(), [
      {
        targets: ['127.0.0.1:9'],
        labels: {
          app: 'istiod',
          istio: 'pilot',
          namespace: 'istio-system',
          pod: 'istiod',
          __metrics_path__: '/metrics',
        },
      },
    ]);
    writeFileSync(
      path.join(dir, SCRAPE_TARGETS_FILE),
      JSON.stringify({
        targets: [
          {
            address: '127.0.0.1:20001',
            metricsPath: '/stats/prometheus',
            pod: 'reviews-v2-0',
            namespace: 'default',
            labels: { app: 'reviews', version: 'v2', 'topology.istio.io/subzone': 'a', __x: 'y' },
          },
        ],
      }),
    );
    const [, proxy] = await sd();
    assert.deepEqual(proxy, {
      targets: ['127.0.0.1:20001'],
      labels: {
        app: 'reviews',
        version: 'v2',
        topology_istio_io_subzone: 'a',
        namespace: 'default',
        pod: 'reviews-v2-0',
        __metrics_path__: '/stats/prometheus',
      },
    });
    writeFileSync(path.join(dir, SCRAPE_TARGETS_FILE), '{');
    assert.equal((await sd()).length, 1);
    assert.match(lines.join('\n'), /not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the served prometheus.yml points http_sd at the control plane', () => {
  const yml = prometheusConfig({ controlPlane: '127.0.0.1:15014', scrapeInterval: '1s' });
  assert.match(yml, /^ {6}- url: http:\/\/127\.0\.0\.1:15014\/prometheus\/http_sd$/m);
  assert.match(yml, /^ {2}scrape_interval: 1s$/m);
  assert.match(yml, /^ {2}scrape_timeout: 1s$/m);
  assert.match(prometheusConfig({ controlPlane: 'x:1' }), /^ {2}scrape_timeout: 10s$/m);
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('2m'), 120_000);
  assert.throws(() => prometheusConfig({ controlPlane: 'x:1', scrapeInterval: '1 s' }), /like 15s/);
});
