// The telemetry variants of skiff's pair: their config (written into the mesh's directory next to
// mesh.yaml), a Zipkin receiver for skiff-telemetry's spans, and the checks that each variant
// really runs as its name says, read from the outbound and inbound sidecars' admin servers and
// logs once the warm-up's traffic has gone through.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which telemetry a skiff target runs with. */
export type TelemetryVariant = 'default' | 'bare' | 'full';

/** The Zipkin collector's name in the mesh, as an Istio install declares one. */
export const ZIPKIN_HOST = 'zipkin.istio-system.svc.cluster.local';
export const ZIPKIN_PORT = 9411;
export const ZIPKIN_CLUSTER = `outbound|${ZIPKIN_PORT}||${ZIPKIN_HOST}`;
/** skiff-telemetry's sampling: Istio's default 1%. */
export const SAMPLING_PERCENT = 1;

/**
 * skiff-bare: Istio's way of turning every metric off, mesh-wide: a root-namespace Telemetry
 * whose override of ALL_METRICS for CLIENT_AND_SERVER is disabled. skiff's control plane then
 * leaves out the istio.stats filters altogether; istio.metadata_exchange stays (it is added to
 * every connection manager whatever the metrics, src/control-plane/generate/telemetry-metrics.ts).
 */
export const BARE_YAML = `# Written by skiff's benchmark: skiff-bare, every metric off.
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  metrics:
    - providers: [{ name: prometheus }]
      overrides:
        - match: { metric: ALL_METRICS, mode: CLIENT_AND_SERVER }
          disabled: true
`;

/**
 * skiff-telemetry: Istio's default metrics, plus access logs (mesh config accessLogFile:
 * /dev/stdout, Istio's default text format; a sidecar's stdout is its log file under the mesh's
 * state dir) and tracing at 1% to a Zipkin collector at `zipkinPort` on 127.0.0.1, declared by
 * a ServiceEntry, a mesh config extension provider, and a root-namespace Telemetry.
 */
export function fullTelemetryYaml(zipkinPort: number): string {
  return `# Written by skiff's benchmark: skiff-telemetry, metrics, access logs and 1% tracing.
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    accessLogFile: /dev/stdout
    accessLogEncoding: TEXT
    enableTracing: true
    extensionProviders:
      - name: zipkin
        zipkin: { service: ${ZIPKIN_HOST}, port: ${ZIPKIN_PORT} }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: zipkin, namespace: istio-system }
spec:
  hosts: [${ZIPKIN_HOST}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: ${ZIPKIN_PORT}, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${zipkinPort} } }]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
    - providers: [{ name: zipkin }]
      randomSamplingPercentage: ${SAMPLING_PERCENT}
`;
}

/** A Zipkin v2 collector on 127.0.0.1: counts the spans POSTed to /api/v2/spans. */
export interface ZipkinReceiver {
  readonly port: number;
  /** Spans received so far. */
  spans(): number;
  close(): Promise<void>;
}

export function startZipkin(): Promise<ZipkinReceiver> {
  let spans = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/spans') {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          if (Array.isArray(body)) spans += body.length;
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      res.writeHead(202).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        spans: () => spans,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** What one sidecar's admin server and log show of its telemetry. */
export interface SidecarTelemetry {
  readonly label: string;
  /** Its /config_dump, as text. */
  readonly configDump: string;
  /** Its /stats/prometheus, after traffic. */
  readonly prometheus: string;
  /** Its log file (stdout and stderr). */
  readonly log: string;
}

/** Access log lines in Istio's default text format: `[start] "GET / HTTP/1.1" 200 ...`. */
export function accessLogLines(log: string): number {
  return log.split('\n').filter((l) => /^\[[^\]]+\] "[A-Z]+ \S+ HTTP\/[\d.]+" \d{3} /.test(l))
    .length;
}

/** The `random_sampling` percentages of a config dump's connection managers. */
export function samplingPercents(configDump: string): number[] {
  return [...configDump.matchAll(/"random_sampling":\s*(\{[^}]*\})/g)].map(
    (m) => (JSON.parse(m[1] ?? '{}') as { value?: number }).value ?? 0,
  );
}

const has = (text: string, what: string): boolean => text.includes(what);

/**
 * What is wrong with a variant's sidecars (empty: it runs as its name says), with notes for
 * the report. `spans` is what the Zipkin receiver got (skiff-telemetry only).
 */
export function checkTelemetry(
  variant: TelemetryVariant,
  sidecars: readonly SidecarTelemetry[],
  spans?: number,
): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const s of sidecars) {
    const stats = has(s.configDump, '"istio.stats"');
    const exchange = has(s.configDump, '"istio.metadata_exchange"');
    const requests = /^istio_requests_total\{/m.test(s.prometheus);
    if (variant === 'bare') {
      if (stats) problems.push(`the ${s.label} sidecar still has the istio.stats filter`);
      // skiff's control plane keeps the peer metadata filter with every metric off (it adds it
      // to every connection manager, telemetry-metrics.ts): say so beside the figures.
      if (exchange) notes.push(`${s.label}: istio.metadata_exchange still present`);
      if (requests) problems.push(`the ${s.label} sidecar still counts istio_requests_total`);
    } else {
      if (!stats) problems.push(`the ${s.label} sidecar has no istio.stats filter`);
      if (!requests) {
        problems.push(`the ${s.label} sidecar's /stats/prometheus has no istio_requests_total`);
      }
    }
    const logger = has(s.configDump, '"envoy.access_loggers.file"');
    const lines = accessLogLines(s.log);
    const tracer = has(s.configDump, '"envoy.tracers.zipkin"');
    if (variant === 'full') {
      if (!logger) problems.push(`the ${s.label} sidecar has no file access logger`);
      if (lines === 0) problems.push(`the ${s.label} sidecar wrote no access log line`);
      if (!tracer) problems.push(`the ${s.label} sidecar has no Zipkin tracer`);
      const percents = samplingPercents(s.configDump);
      if (!percents.length || percents.some((p) => p !== SAMPLING_PERCENT)) {
        problems.push(
          `the ${s.label} sidecar samples at ${percents.join(', ') || 'no'}%, not ${SAMPLING_PERCENT}%`,
        );
      }
      notes.push(`${s.label}: ${lines} access log lines`);
    } else {
      if (logger) problems.push(`the ${s.label} sidecar has an access logger`);
      if (tracer) problems.push(`the ${s.label} sidecar has a tracer`);
    }
  }
  if (variant === 'full') {
    if (!sidecars.some((s) => has(s.configDump, ZIPKIN_CLUSTER))) {
      problems.push(`no sidecar has the collector's cluster ${ZIPKIN_CLUSTER}`);
    }
    if (!spans) problems.push('the Zipkin receiver got no span');
    notes.push(`Zipkin receiver: ${spans ?? 0} spans`);
  }
  return { problems, notes };
}

/** Reads a sidecar's telemetry from its admin server and its log file. */
export async function readSidecarTelemetry(
  label: string,
  admin: string,
  logFile: string,
): Promise<SidecarTelemetry> {
  const text = async (p: string): Promise<string> => {
    const res = await fetch(`${admin}${p}`, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`${admin}${p}: ${res.status} ${body.slice(0, 200)}`);
    return body;
  };
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8');
  } catch {
    // No log file: no access log line either; checkTelemetry says so when it matters.
  }
  return {
    label,
    configDump: await text('/config_dump'),
    prometheus: await text('/stats/prometheus'),
    log,
  };
}
