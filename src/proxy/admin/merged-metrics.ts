// The merged metrics endpoint (pilot-agent's status port, Istio's 15020): GET /stats/prometheus
// answers the proxy's own metrics (its admin /stats/prometheus, Istio's 15090), followed by the
// app's, fetched at scrape time when the workload asked for it with Istio's `prometheus.io/scrape`,
// `prometheus.io/port` and `prometheus.io/path` annotations, followed by the agent's scrape
// counters. A part that cannot be fetched is left out and counted; the others are still served.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MergedMetricsOptions {
  /** The proxy's own Prometheus text, e.g. `http://127.0.0.1:15000/stats/prometheus`. */
  readonly proxyUrl: string;
  /** The proxy's readiness (admin /ready), served again at /healthz/ready as pilot-agent does. */
  readonly readyUrl: string;
  /** The app's metrics URL, when the workload asked for merging. */
  readonly appUrl?: string;
  readonly log?: (line: string) => void;
}

/** Prometheus sends the scrape timeout; without it, Istio's default scrape timeout (10 s). */
const DEFAULT_TIMEOUT_MS = 10_000;

interface Fetched {
  readonly status: number;
  readonly body: string;
}

function get(agent: http.Agent, url: string, timeoutMs: number): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      // The text format every Prometheus client library serves (OpenMetrics would need `# EOF`).
      { agent, timeout: timeoutMs, headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/** A part of the merged text: newline-terminated, without OpenMetrics' `# EOF` trailer. */
export function metricsPart(text: string): string {
  const body = text.replace(/^# EOF\s*$/m, '').trimEnd();
  return body ? `${body}\n` : '';
}

export class MergedMetricsServer {
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly #opts: MergedMetricsOptions;
  #scrapes = 0;
  readonly #failures = new Map<string, number>();

  constructor(opts: MergedMetricsOptions) {
    this.#opts = opts;
    this.#server = http.createServer((req, res) => {
      void this.#handle(req, res).catch((e: unknown) => {
        opts.log?.(`merged metrics: ${String(e)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const timeoutMs = scrapeTimeoutMs(req.headers['x-prometheus-scrape-timeout-seconds']);
    if (path === '/healthz/ready') {
      const ready = await get(this.#agent, this.#opts.readyUrl, timeoutMs).catch(() => undefined);
      const ok = ready?.status === 200;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ready\n' : 'not ready\n');
      return;
    }
    if (path !== '/stats/prometheus' && path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const body = await this.scrape(timeoutMs);
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /** The merged text: the proxy's, the app's (when asked for), the agent's counters. */
  async scrape(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    this.#scrapes++;
    const { proxyUrl, appUrl } = this.#opts;
    const [proxy, app] = await Promise.all([
      this.#part('envoy', proxyUrl, timeoutMs),
      appUrl ? this.#part('application', appUrl, timeoutMs) : Promise.resolve(''),
    ]);
    return proxy + app + this.#agentText();
  }

  async #part(type: string, url: string, timeoutMs: number): Promise<string> {
    try {
      const r = await get(this.#agent, url, timeoutMs);
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return metricsPart(r.body);
    } catch (e) {
      this.#failures.set(type, (this.#failures.get(type) ?? 0) + 1);
      this.#opts.log?.(`merged metrics: ${type} metrics from ${url}: ${(e as Error).message}`);
      return '';
    }
  }

  /** pilot-agent's own: istio_agent_scrapes_total, istio_agent_scrape_failures_total{type}. */
  #agentText(): string {
    const lines = [
      '# HELP istio_agent_scrapes_total The total number of scrapes.',
      '# TYPE istio_agent_scrapes_total counter',
      `istio_agent_scrapes_total ${this.#scrapes}`,
      '# HELP istio_agent_scrape_failures_total The total number of failed scrapes.',
      '# TYPE istio_agent_scrape_failures_total counter',
    ];
    for (const [type, n] of this.#failures)
      lines.push(`istio_agent_scrape_failures_total{type="${type}"} ${n}`);
    return lines.join('\n') + '\n';
  }

  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        const a = this.#server.address() as AddressInfo;
        resolve(`${a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    this.#agent.destroy();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

function scrapeTimeoutMs(header: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  // Leave Prometheus a little of its own timeout to read the answer.
  return Number.isFinite(seconds) && seconds > 0
    ? Math.max(100, seconds * 1000 - 100)
    : DEFAULT_TIMEOUT_MS;
}
