// Envoy's request/response header manipulation (headers_to_add with append_action, and
// headers_to_remove) at one level of the route configuration: weighted cluster, route, virtual
// host or the whole configuration. Each level removes first, then adds (HeaderParser).
import { ConfigError, inField } from '../config-error.js';
import type { HeaderMap } from '../filters/http/header-map.js';
import type { FormatContext, Formatter } from './header-formatter.js';
import { compileHeaderValue } from './header-formatter.js';

type Obj = Record<string, unknown>;

export type AppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

interface HeaderOp {
  readonly name: string;
  readonly value: Formatter | string;
  readonly action: AppendAction;
  readonly keepEmpty: boolean;
}

export interface HeaderMutation {
  readonly remove: readonly string[];
  readonly add: readonly HeaderOp[];
}

const ACTIONS: ReadonlySet<string> = new Set([
  'APPEND_IF_EXISTS_OR_ADD',
  'ADD_IF_ABSENT',
  'OVERWRITE_IF_EXISTS_OR_ADD',
  'OVERWRITE_IF_EXISTS',
]);

/** Envoy refuses to touch pseudo-headers, and Host on requests (":-prefixed or host headers"). */
function checkName(name: string, field: string, request: boolean): void {
  if (!name) throw new ConfigError(field, 'a header name is required');
  if (name.startsWith(':') || (request && name === 'host'))
    throw new ConfigError(field, `header ${name} may not be modified`);
}

function compileOption(o: Obj, request: boolean): HeaderOp {
  const header = (o['header'] as Obj | undefined) ?? {};
  const name = String(header['key'] ?? '').toLowerCase();
  checkName(name, 'header.key', request);
  const raw =
    typeof header['raw_value'] === 'string'
      ? Buffer.from(header['raw_value'], 'base64').toString('latin1')
      : undefined;
  const text = raw ?? String(header['value'] ?? '');
  let action = String(o['append_action'] ?? 'APPEND_IF_EXISTS_OR_ADD');
  if (!ACTIONS.has(action)) throw new ConfigError('append_action', `unknown action ${action}`);
  if (o['append'] !== undefined) {
    // The deprecated BoolValue `append` wins when set; both at once is a config error in Envoy.
    if (o['append_action'] !== undefined && o['append_action'] !== 'APPEND_IF_EXISTS_OR_ADD')
      throw new ConfigError('append', 'append and append_action cannot both be set');
    action = o['append'] === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD';
  }
  return {
    name,
    value: compileHeaderValue(text, 'header.value'),
    action: action as AppendAction,
    keepEmpty: o['keep_empty_value'] === true,
  };
}

/** Compiles one level; undefined when it changes nothing (the common case costs nothing). */
export function compileHeaderMutation(
  add: unknown,
  remove: unknown,
  names: { readonly add: string; readonly remove: string },
  request: boolean,
): HeaderMutation | undefined {
  const adds = (add as Obj[] | undefined) ?? [];
  const removes = (remove as string[] | undefined) ?? [];
  if (adds.length === 0 && removes.length === 0) return undefined;
  return Object.freeze({
    remove: removes.map((n, i) => {
      const name = String(n).toLowerCase();
      checkName(name, `${names.remove}[${i}]`, request);
      return name;
    }),
    add: adds.map((o, i) => inField(`${names.add}[${i}]`, () => compileOption(o, request))),
  });
}

/** Request side of a route-config level (request_headers_to_add / _to_remove). */
export function requestMutation(o: Obj): HeaderMutation | undefined {
  return compileHeaderMutation(
    o['request_headers_to_add'],
    o['request_headers_to_remove'],
    { add: 'request_headers_to_add', remove: 'request_headers_to_remove' },
    true,
  );
}

/** Response side of a route-config level (response_headers_to_add / _to_remove). */
export function responseMutation(o: Obj): HeaderMutation | undefined {
  return compileHeaderMutation(
    o['response_headers_to_add'],
    o['response_headers_to_remove'],
    { add: 'response_headers_to_add', remove: 'response_headers_to_remove' },
    false,
  );
}

export function applyHeaderMutation(
  m: HeaderMutation,
  headers: HeaderMap,
  ctx: FormatContext,
): void {
  for (const name of m.remove) headers.remove(name);
  for (const op of m.add) {
    const value = typeof op.value === 'string' ? op.value : op.value(ctx);
    if (!value && !op.keepEmpty) continue;
    switch (op.action) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        headers.add(op.name, value);
        break;
      case 'ADD_IF_ABSENT':
        if (headers.get(op.name) === undefined) headers.add(op.name, value);
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        headers.set(op.name, value);
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (headers.get(op.name) !== undefined) headers.set(op.name, value);
        break;
    }
  }
}

/** Applies levels in order (later ones win where they overwrite); skips absent levels. */
export function applyHeaderMutations(
  levels: readonly (HeaderMutation | undefined)[],
  headers: HeaderMap,
  ctx: FormatContext,
): void {
  for (const m of levels) if (m) applyHeaderMutation(m, headers, ctx);
}
