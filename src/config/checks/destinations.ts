// Route destinations, weights and header operations of VirtualService routes (istiod's
// validateDestination, validateHTTPRouteDestinations and the header-name rules).
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { checkPort } from './common.js';
import { isDnsLabel, wildcardHostProblem } from './names.js';

interface Destination {
  host?: string;
  subset?: string;
  port?: { number?: number };
}

interface WeightedDestination {
  destination?: Destination;
  weight?: number;
  headers?: HeaderOperations;
}

interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface HeaderOperations {
  request?: HeaderOps;
  response?: HeaderOps;
}

export function checkDestination(
  report: Reporter,
  path: FieldPath,
  d: Destination | undefined,
): void {
  if (!d) return;
  if (d.host === undefined || d.host === '') {
    report.error([...path, 'host'], 'destination host is required', 'key');
  } else if (d.host === '*') {
    report.error([...path, 'host'], 'destination host cannot be "*"');
  } else {
    const problem = wildcardHostProblem(d.host);
    if (problem) report.error([...path, 'host'], problem);
  }
  if (d.subset !== undefined && !isDnsLabel(d.subset)) {
    report.error(
      [...path, 'subset'],
      `invalid subset name "${d.subset}": use a DNS label (lower-case letters, digits, '-')`,
    );
  }
  if (d.port?.number !== undefined) checkPort(report, [...path, 'port', 'number'], d.port.number);
}

/**
 * The destinations of one route: each needs a destination; weights are 0..100, and with several
 * destinations they must add up to 100 (Istio's rule since v1alpha3; a single one may omit it).
 */
export function checkWeightedDestinations(
  report: Reporter,
  path: FieldPath,
  routes: readonly WeightedDestination[] | undefined,
): void {
  if (!routes) return;
  let total = 0;
  routes.forEach((r, i) => {
    const at = [...path, i];
    if (!r.destination) report.error([...at, 'destination'], 'destination is required', 'key');
    else checkDestination(report, [...at, 'destination'], r.destination);
    if (r.weight !== undefined && (r.weight < 0 || r.weight > 100)) {
      report.error([...at, 'weight'], `weight must be between 0 and 100 (got ${r.weight})`);
    }
    if (r.headers) checkHeaderOperations(report, [...at, 'headers'], r.headers);
    total += r.weight ?? 0;
  });
  if (routes.length > 1 && total !== 100) {
    report.error(
      path,
      `weights of the ${routes.length} destinations must add up to 100 (they add up to ${total})`,
      'key',
    );
  }
}

// RFC 7230 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
// Control characters other than tab end a header value early.
// eslint-disable-next-line no-control-regex
const BAD_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  return HEADER_NAME.test(name) ? undefined : `invalid header name "${name}"`;
}

/** Header operations: names set on requests may be :authority but not another pseudo-header; Host is off limits. */
export function checkHeaderOperations(
  report: Reporter,
  path: FieldPath,
  ops: HeaderOperations,
): void {
  for (const dir of ['request', 'response'] as const) {
    const o = ops[dir];
    if (!o) continue;
    for (const op of ['set', 'add'] as const) {
      for (const [name, value] of Object.entries(o[op] ?? {})) {
        const at = [...path, dir, op, name];
        const authority = name.toLowerCase() === ':authority' || name.toLowerCase() === 'host';
        const internal = name.startsWith(':') || name.toLowerCase() === 'host';
        if (name === '') report.error(at, 'header name must not be empty', 'key');
        else if (internal && !(dir === 'request' && authority)) {
          report.error(
            at,
            `header "${name}" cannot be ${op === 'set' ? 'set' : 'added'} here`,
            'key',
          );
        }
        if (typeof value === 'string' && BAD_HEADER_VALUE.test(value)) {
          report.error(at, 'header value must not contain control characters');
        }
      }
    }
    (o.remove ?? []).forEach((name, i) => {
      if (name === '') report.error([...path, dir, 'remove', i], 'header name must not be empty');
      else if (name.startsWith(':') || name.toLowerCase() === 'host') {
        report.error([...path, dir, 'remove', i], `header "${name}" cannot be removed`);
      }
    });
  }
}
