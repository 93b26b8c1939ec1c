// The merged metrics endpoint against real servers on port 0: the proxy's text, the app's, the
// agent's counters; a part that fails is left out and counted.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { MergedMetricsServer, metricsPart } from './merged-metrics.js';

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test('metricsPart drops OpenMetrics # EOF and ends with a newline', () => {
  assert.equal(metricsPart('a 1\n# EOF\n'), 'a 1\n');
  assert.equal(metricsPart('a 1'), 'a 1\n');
  assert.equal(metricsPart(''), '');
});

test('serves the proxy metrics, then the app metrics, then the agent counters', async () => {
  const admin = await serve((req, res) => {
    if (req.url === '/ready') return res.end('LIVE');
    res.end(
      '# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination"} 3\n',
    );
  });
  let appUp = true;
  const app = await serve((req, res) => {
    if (!appUp) {
      res.writeHead(500);
      return res.end();
    }
    assert.equal(req.url, '/metrics');
    res.end('# TYPE app_things counter\napp_things 7');
  });
  const merged = new MergedMetricsServer({
    proxyUrl: `http://${admin}/stats/prometheus`,
    readyUrl: `http://${admin}/ready`,
    appUrl: `http://${app}/metrics`,
  });
  const address = await merged.listen(0, '127.0.0.1');
  try {
    const res = await fetch(`http://${address}/stats/prometheus`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0.0.4/);
    const text = await res.text();
    assert.ok(
      text.startsWith(
        '# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination"} 3\n' +
          '# TYPE app_things counter\napp_things 7\n',
      ),
      text,
    );
    assert.match(text, /^istio_agent_scrapes_total 1$/m);
    appUp = false;
    const second = await (await fetch(`http://${address}/stats/prometheus`)).text();
    assert.match(second, /^istio_requests_total\{reporter="destination"\} 3$/m);
    assert.doesNotMatch(second, /app_things/);
    assert.match(second, /^istio_agent_scrape_failures_total\{type="application"\} 1$/m);
    assert.equal((await fetch(`http://${address}/healthz/ready`)).status, 200);
    assert.equal((await fetch(`http://${address}/nope`)).status, 404);
  } finally {
    await merged.close();
  }
});
