// Which Telemetry resources (telemetry.istio.io) apply to a proxy, in Istio's order of precedence:
// the root namespace's mesh-wide one, then its namespace's, then the one selecting its workload.
// Each telemetry domain (metrics, tracing, access logs) merges its own section over that chain
// as Istio does for it; this module only decides who is in the chain.
import type { TelemetrySpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';

export interface TelemetryProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The Telemetry resources in force for one proxy, from the least specific to the most. */
export interface TelemetryChain {
  /** The root namespace's Telemetry without a selector (mesh-wide), if any. */
  readonly mesh: ConfigResource<TelemetrySpec> | undefined;
  /** The proxy's namespace's Telemetry without a selector (not the root namespace's). */
  readonly namespace: ConfigResource<TelemetrySpec> | undefined;
  /** A Telemetry of the proxy's namespace whose selector matches the proxy's labels. */
  readonly workload: ConfigResource<TelemetrySpec> | undefined;
}

/** mesh → namespace → workload, the levels that exist; later ones override earlier ones. */
export function chainOrder(chain: TelemetryChain): ConfigResource<TelemetrySpec>[] {
  return [chain.mesh, chain.namespace, chain.workload].filter(
    (t): t is ConfigResource<TelemetrySpec> => t !== undefined,
  );
}

function selectorOf(
  t: ConfigResource<TelemetrySpec>,
): Readonly<Record<string, string>> | undefined {
  const labels = t.spec.selector?.matchLabels;
  return labels && Object.keys(labels).length ? labels : undefined;
}

function selects(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Istio: at each level one resource applies; when several could, the first in config order
 * wins (Istio takes the oldest; files have no creation time) and analysis reports the others.
 * A Telemetry with `targetRefs` (Gateway API) binds to no skiff proxy.
 */
export function telemetryChain(
  telemetries: readonly ConfigResource<TelemetrySpec>[],
  proxy: TelemetryProxy,
  rootNamespace: string,
): TelemetryChain {
  let mesh: ConfigResource<TelemetrySpec> | undefined;
  let namespace: ConfigResource<TelemetrySpec> | undefined;
  let workload: ConfigResource<TelemetrySpec> | undefined;
  for (const t of telemetries) {
    if (t.spec.targetRefs?.length || t.spec.targetRef) continue;
    const ns = t.metadata.namespace;
    const selector = selectorOf(t);
    if (!selector) {
      if (ns === rootNamespace) mesh ??= t;
      else if (ns === proxy.namespace) namespace ??= t;
    } else if (ns === proxy.namespace && selects(proxy.labels, selector)) {
      workload ??= t;
    }
  }
  return { mesh, namespace, workload };
}
