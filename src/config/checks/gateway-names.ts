// References to Gateways from VirtualServices (istiod's validateGatewayNames): `mesh`,
// `<namespace>/<name>`, a name in the VirtualService's namespace, or the legacy `name.namespace...`.
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { fqdnProblem, isDnsLabel } from './names.js';

export const MESH_GATEWAY = 'mesh';

export function checkGatewayNames(
  report: Reporter,
  path: FieldPath,
  names: readonly string[] | undefined,
): void {
  (names ?? []).forEach((g, i) => {
    const at = [...path, i];
    if (g === MESH_GATEWAY) return;
    const slash = g.indexOf('/');
    if (slash >= 0) {
      const ns = g.slice(0, slash);
      const name = g.slice(slash + 1);
      if (!isDnsLabel(ns))
        report.error(at, `invalid gateway reference "${g}": "${ns}" is not a valid namespace`);
      else if (!isDnsLabel(name))
        report.error(at, `invalid gateway reference "${g}": "${name}" is not a valid gateway name`);
      return;
    }
    if (g.includes('.')) {
      const [name, ns] = g.split('.');
      report.warn(
        at,
        `legacy gateway reference "${g}"; prefer <namespace>/<name>: "${ns}/${name}"`,
      );
    }
    const problem = fqdnProblem(g);
    if (problem) report.error(at, `invalid gateway reference: ${problem}`);
  });
}
