// A prometheus.yml for a running mesh: one job whose targets come from the control plane's HTTP
// service discovery (every proxy's merged endpoint, and the control plane's /metrics). Served at
// GET /prometheus/config, so `curl` gives a config that works as is.

/** Prometheus durations as the config accepts them (`1s`, `500ms`, `1m`). */
const DURATION = /^([1-9][0-9]*)(ms|s|m)$/;

export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export interface PrometheusConfigOptions {
  /** The control plane's HTTP address, host:port. */
  readonly controlPlane: string;
  /** Prometheus's scrape and discovery interval (default 15s, Prometheus's own default is 1m). */
  readonly scrapeInterval?: string;
}

export function prometheusConfig(opts: PrometheusConfigOptions): string {
  const interval = opts.scrapeInterval ?? '15s';
  const ms = durationMs(interval);
  if (ms === undefined)
    throw new Error(`scrape interval ${JSON.stringify(interval)} is not like 15s`);
  // Prometheus refuses a scrape timeout longer than the interval; 10s is its default.
  const timeout = ms < 10_000 ? interval : '10s';
  return [
    '# Prometheus config for a skiff mesh: targets from the control plane (http_sd_configs).',
    `# Run: prometheus --config.file=prometheus.yml --storage.tsdb.path=/tmp/skiff-prometheus`,
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${timeout}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  # Every proxy (sidecars, gateways) at its merged endpoint (Istio 15020 /stats/prometheus),',
    '  # labelled namespace, pod, app, version, ...; and the control plane at /metrics.',
    '  - job_name: skiff-mesh',
    '    http_sd_configs:',
    `      - url: http://${opts.controlPlane}/prometheus/http_sd`,
    `        refresh_interval: ${interval}`,
    '',
  ].join('\n');
}
