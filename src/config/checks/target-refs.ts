// Policy targetRef/targetRefs (istiod's validatePolicyTargetReference): a name, no namespace,
// and only the kinds a policy may attach to.
import type { Reporter } from '../report.js';

interface TargetRef {
  group?: string;
  kind: string;
  name: string;
  namespace?: string;
}

const ALLOWED = new Set([
  'core/Service',
  'networking.istio.io/ServiceEntry',
  'gateway.networking.k8s.io/Gateway',
  'gateway.networking.k8s.io/GatewayClass',
]);

export function checkTargetRefs(
  report: Reporter,
  spec: { targetRef?: TargetRef; targetRefs?: TargetRef[] },
): void {
  const check = (path: (string | number)[], ref: TargetRef): void => {
    if (!ref.name) report.error([...path, 'name'], 'targetRef name is required', 'key');
    if (ref.namespace)
      report.error(
        [...path, 'namespace'],
        'targetRef namespace must not be set (cross-namespace references are not supported)',
        'key',
      );
    const group = ref.group || 'core';
    if (!ALLOWED.has(`${group}/${ref.kind}`)) {
      report.error(
        [...path, 'kind'],
        `targetRef must be a Service, ServiceEntry, Gateway or GatewayClass (got ${ref.group ?? ''}/${ref.kind})`,
      );
    }
  };
  if (spec.targetRef) check(['spec', 'targetRef'], spec.targetRef);
  (spec.targetRefs ?? []).forEach((r, i) => check(['spec', 'targetRefs', i], r));
}
