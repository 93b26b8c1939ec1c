// Kind names as users type them (`vs`, `virtualservices`, `VirtualService`), like kubectl's.
import { Kind } from '../../config/kinds.js';
import type { KindName } from '../../config/kinds.js';

const SHORT: Readonly<Record<string, KindName>> = {
  vs: 'VirtualService',
  dr: 'DestinationRule',
  gw: 'Gateway',
  se: 'ServiceEntry',
  we: 'WorkloadEntry',
  wg: 'WorkloadGroup',
  pa: 'PeerAuthentication',
  ra: 'RequestAuthentication',
  ap: 'AuthorizationPolicy',
  svc: 'Service',
  cm: 'ConfigMap',
  wl: 'Workload',
};

/** Resolves a user's kind name; undefined when unknown. */
export function resolveKindName(input: string): KindName | undefined {
  const lower = input.toLowerCase().replace(/\..*$/, '');
  if (SHORT[lower]) return SHORT[lower];
  for (const k of Object.values(Kind)) {
    const l = k.toLowerCase();
    if (lower === l || lower === `${l}s` || (l.endsWith('y') && lower === `${l.slice(0, -1)}ies`))
      return k;
  }
  return undefined;
}
