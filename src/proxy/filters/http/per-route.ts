// typed_per_filter_config (route, virtual host, weighted cluster) compiled once per RDS update,
// keyed by the HTTP filter's name, and looked up per request most specific first, as Envoy's
// mostSpecificPerFilterConfig does: weighted cluster, then route, then virtual host.
import { ConfigError, inField } from '../../config-error.js';
import type { HttpStream } from '../../http/stream.js';
import { messageNameOf } from '../../../xds/types.js';
import { CORS_POLICY_TYPE, compileCorsPolicy } from './cors/config.js';
import { FAULT_TYPE, compileFaultSettings } from './fault/config.js';
import { GRPC_WEB_TYPE } from './grpc_web/filter.js';

type Obj = Record<string, unknown>;

/** A per-route FilterConfig with `disabled: true`: the filter does nothing on that route. */
export const DISABLED = Symbol('filter disabled');

export type PerFilterConfigs = ReadonlyMap<string, unknown>;

/** Per-route config messages skiff understands, by message name. */
const COMPILERS: Readonly<Record<string, (typed: Obj) => unknown>> = {
  [FAULT_TYPE]: compileFaultSettings,
  [CORS_POLICY_TYPE]: compileCorsPolicy,
  // Nothing to configure: naming it enables a filter that is disabled by default.
  [GRPC_WEB_TYPE]: () => GRPC_WEB_TYPE,
};

const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

function compileOne(value: Obj): unknown {
  let typed = value;
  let optional = false;
  if (messageNameOf(String(value['@type'] ?? '')) === FILTER_CONFIG) {
    if (value['disabled'] === true) return DISABLED;
    optional = value['is_optional'] === true;
    typed = (value['config'] as Obj | undefined) ?? {};
  }
  const type = messageNameOf(String(typed['@type'] ?? ''));
  const compile = COMPILERS[type];
  if (!compile) {
    if (optional) return undefined;
    throw new ConfigError('', `per-route config ${type || '(no type)'} is not supported`);
  }
  return compile(typed);
}

/** Compiles a typed_per_filter_config map; undefined when empty (nothing to look up). */
export function compilePerFilterConfigs(raw: unknown): PerFilterConfigs | undefined {
  if (raw === undefined || raw === null) return undefined;
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(raw as Obj)) {
    const compiled = inField(`typed_per_filter_config[${name}]`, () => compileOne(value as Obj));
    if (compiled !== undefined) out.set(name, compiled);
  }
  return out.size ? out : undefined;
}

/** The most specific per-route config for the filter named `name`, if any. */
export function perFilterConfig(stream: HttpStream, name: string): unknown {
  return (
    stream.clusterChoice?.perFilter?.get(name) ??
    stream.route?.perFilter?.get(name) ??
    stream.virtualHost?.perFilter?.get(name)
  );
}

/** Every level's config for `name`, most specific first (CORS merges fields across them). */
export function perFilterConfigs(stream: HttpStream, name: string): unknown[] {
  const out: unknown[] = [];
  for (const m of [
    stream.clusterChoice?.perFilter,
    stream.route?.perFilter,
    stream.virtualHost?.perFilter,
  ]) {
    const v = m?.get(name);
    if (v !== undefined) out.push(v);
  }
  return out;
}
