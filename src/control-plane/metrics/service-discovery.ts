// Prometheus HTTP service discovery (`http_sd_configs`) for a local mesh: one target per proxy
// (its merged metrics endpoint, Istio's 15020 /stats/prometheus) and one for the control plane
// (/metrics, istiod's 15014), labelled as Istio's `kubernetes-pods` relabelling labels pods:
// `namespace`, `pod`, and every pod label (app, version, ...) with its name made a valid label
// name. The launcher writes the proxies' targets to `<stateDir>/scrape-targets.json`; the control
// plane reads it on each request, so that a control plane run alone still lists itself.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const SCRAPE_TARGETS_FILE = 'scrape-targets.json';

/** A proxy to scrape, as the launcher records it. */
export interface ScrapeTarget {
  /** host:port serving Prometheus text at `metricsPath`. */
  readonly address: string;
  readonly metricsPath: string;
  /** Pod-like instance name, e.g. `reviews-v2-0`. */
  readonly pod: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ScrapeTargetsFile {
  readonly targets: readonly ScrapeTarget[];
}

/** One entry of Prometheus's HTTP SD response. */
export interface HttpSdGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A Kubernetes label name as Prometheus's labelmap of `__meta_kubernetes_pod_label_<name>` has it:
 * every character outside [a-zA-Z0-9_] becomes `_` (`app.kubernetes.io/name` →
 * `app_kubernetes_io_name`).
 */
export function promLabelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function group(
  address: string,
  metricsPath: string,
  identity: { pod: string; namespace: string },
  labels: Readonly<Record<string, string>>,
): HttpSdGroup {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const name = promLabelName(k);
    // Labels starting with __ are Prometheus's own (dropped after relabelling): never a pod's.
    if (!name.startsWith('__')) out[name] = v;
  }
  out['namespace'] = identity.namespace;
  out['pod'] = identity.pod;
  out['__metrics_path__'] = metricsPath;
  return { targets: [address], labels: out };
}

/** The control plane's own target, labelled as istiod's pod is (app=istiod, istio=pilot). */
export function controlPlaneGroup(httpAddress: string): HttpSdGroup {
  return group(
    httpAddress,
    '/metrics',
    { pod: 'istiod', namespace: 'istio-system' },
    { app: 'istiod', istio: 'pilot' },
  );
}

export function proxyGroups(targets: readonly ScrapeTarget[]): HttpSdGroup[] {
  return targets.map((t) => group(t.address, t.metricsPath, t, t.labels));
}

/** The targets the launcher wrote, or none (no launcher, or an unreadable file, which is logged). */
export async function readScrapeTargets(
  stateDir: string,
  log: (line: string) => void,
): Promise<readonly ScrapeTarget[]> {
  const file = path.join(stateDir, SCRAPE_TARGETS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log(`${file}: ${(e as Error).message}`);
    return [];
  }
  try {
    const parsed = JSON.parse(text) as Partial<ScrapeTargetsFile>;
    return Array.isArray(parsed.targets) ? parsed.targets : [];
  } catch (e) {
    log(`${file}: not JSON (${(e as Error).message})`);
    return [];
  }
}

/** The whole HTTP SD answer: the control plane first, then every proxy. */
export async function httpServiceDiscovery(opts: {
  readonly stateDir: string;
  readonly httpAddress: string;
  readonly log: (line: string) => void;
}): Promise<HttpSdGroup[]> {
  return [
    controlPlaneGroup(opts.httpAddress),
    ...proxyGroups(await readScrapeTargets(opts.stateDir, opts.log)),
  ];
}
