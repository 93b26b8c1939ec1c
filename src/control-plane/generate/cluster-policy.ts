// Which trafficPolicy applies to one outbound cluster: the DestinationRule's at the port, then the
// subset's over it (Istio's GetPortLevelTrafficPolicy and MergeSubsetTrafficPolicy).
import type { DestinationRuleSpec } from '../../config/kinds.js';
import type { TrafficPolicy } from './cluster-traffic-policy.js';

/** What a port-level policy sets; where one applies it replaces these wholesale. */
const PORT_LEVEL_FIELDS = ['connectionPool', 'loadBalancer', 'outlierDetection', 'tls'] as const;

/**
 * Istio's GetPortLevelTrafficPolicy: settings for the port replace the policy's port-level
 * fields wholesale ("default values will be applied to fields omitted in port-level traffic
 * policies"); otherwise the policy stands as it is.
 */
function atPort(
  policy: TrafficPolicy | undefined,
  port: number,
): { policy: TrafficPolicy | undefined; portLevel: boolean } {
  if (!policy) return { policy, portLevel: false };
  const { portLevelSettings, ...rest } = policy;
  const settings = portLevelSettings?.find((p) => p.port?.number === port);
  if (!settings) return { policy: rest, portLevel: false };
  // Istio's shadowCopyPortTrafficPolicy: only the port-level fields, nothing inherited.
  const out: Record<string, unknown> = {};
  for (const k of PORT_LEVEL_FIELDS) if (settings[k] !== undefined) out[k] = settings[k];
  return { policy: out as TrafficPolicy, portLevel: true };
}

/**
 * Istio's MergeSubsetTrafficPolicy: the rule's policy at this port, overridden field by field by
 * the subset's policy at this port (wholesale when the subset has settings for the port).
 */
export function mergedPolicy(
  dr: DestinationRuleSpec | undefined,
  subset: string,
  port: number,
): TrafficPolicy | undefined {
  const base = atPort(dr?.trafficPolicy, port).policy;
  // The subset's generated type has the rule's shape but is distinct and huge: proving that
  // structurally costs the compiler half a minute, so assert it.
  const subsetPolicy = subset
    ? dr?.subsets?.find((s) => s.name === subset)?.trafficPolicy
    : undefined;
  const sub = atPort(subsetPolicy as unknown as TrafficPolicy | undefined, port);
  const merged: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(sub.policy ?? {})) if (v !== undefined) merged[k] = v;
  if (sub.portLevel)
    for (const k of PORT_LEVEL_FIELDS) if (sub.policy?.[k] === undefined) delete merged[k];
  return Object.keys(merged).length ? (merged as TrafficPolicy) : undefined;
}
