// What Prometheus scrapes in a local mesh: each proxy's merged metrics endpoint (Istio's 15020),
// which adds the app's own metrics when the Workload asks with Istio's annotations
// (`prometheus.io/scrape: "true"`, `prometheus.io/port`, `prometheus.io/path`), as Istio's metrics
// merging does. The targets go to `<stateDir>/scrape-targets.json`, which the control plane serves
// to Prometheus's http_sd_configs.
import path from 'node:path';
import type {
  ScrapeTarget,
  ScrapeTargetsFile,
} from '../control-plane/metrics/service-discovery.js';
import { SCRAPE_TARGETS_FILE } from '../control-plane/metrics/service-discovery.js';
import type { InboundPort } from '../xds/node.js';
import { LauncherError } from './errors.js';
import { writeJsonAtomic } from './json-file.js';

export const SCRAPE = 'prometheus.io/scrape';
export const PORT = 'prometheus.io/port';
export const PATH = 'prometheus.io/path';
export const SCHEME = 'prometheus.io/scheme';

/** Where the merged endpoint serves. */
export const MERGED_METRICS_PATH = '/stats/prometheus';

export interface ScrapePlan {
  /** False when the Workload opted out (`prometheus.io/scrape: "false"`): no target at all. */
  readonly scrape: boolean;
  /** The app's metrics URL on loopback, when the Workload asked for merging. */
  readonly appMetricsUrl?: string;
}

/**
 * Reads a Workload's prometheus.io annotations. The port is a containerPort of the Workload (the
 * port the app's metrics listen on in Kubernetes); locally the app listens elsewhere, so the URL
 * takes that port's app port. Without a port, the first containerPort. Throws LauncherError
 * ERR_BAD_ANNOTATION for what cannot be scraped.
 */
export function scrapePlan(
  workload: string,
  annotations: Readonly<Record<string, string>>,
  ports: readonly InboundPort[],
): ScrapePlan {
  const scrape = annotations[SCRAPE];
  if (scrape === 'false') return { scrape: false };
  if (scrape !== 'true') return { scrape: true };
  const bad = (why: string) =>
    new LauncherError('ERR_BAD_ANNOTATION', `Workload ${workload}: metadata.annotations.${why}`);
  const scheme = annotations[SCHEME] ?? 'http';
  if (scheme !== 'http') throw bad(`["${SCHEME}"]: only http is supported, not ${scheme}`);
  const wanted = annotations[PORT];
  let port: InboundPort | undefined;
  if (wanted === undefined) {
    port = ports[0];
    if (!port) throw bad(`["${SCRAPE}"]: the Workload has no ports to scrape`);
  } else {
    port = ports.find((p) => String(p.containerPort) === wanted.trim());
    if (!port) {
      const declared = ports.map((p) => p.containerPort).join(', ') || 'none';
      throw bad(
        `["${PORT}"]: ${JSON.stringify(wanted)} is not one of the Workload's ports (${declared})`,
      );
    }
  }
  const metricsPath = annotations[PATH] || '/metrics';
  if (!metricsPath.startsWith('/')) throw bad(`["${PATH}"]: ${metricsPath} does not start with /`);
  return { scrape: true, appMetricsUrl: `http://127.0.0.1:${port.appPort}${metricsPath}` };
}

/** A proxy's target: its merged endpoint. */
export function proxyTarget(p: {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly statusPort: number;
}): ScrapeTarget {
  return {
    address: `127.0.0.1:${p.statusPort}`,
    metricsPath: MERGED_METRICS_PATH,
    pod: p.name,
    namespace: p.namespace,
    labels: { ...p.labels },
  };
}

export function writeScrapeTargets(stateDir: string, targets: readonly ScrapeTarget[]): void {
  const file: ScrapeTargetsFile = { targets };
  writeJsonAtomic(path.join(stateDir, SCRAPE_TARGETS_FILE), file);
}
