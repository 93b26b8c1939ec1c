// Header values with Envoy's command operators (`%DOWNSTREAM_REMOTE_ADDRESS%`, `%REQ(x-foo)%`,
// ...; "Custom request/response headers" in Envoy's docs), compiled once into functions. A value
// without `%` is a constant and costs nothing per request.
import os from 'node:os';
import { ConfigError } from '../config-error.js';
import type { HeaderMap } from '../filters/http/header-map.js';
import type { HttpStream } from '../http/stream.js';

export interface FormatContext {
  readonly stream: HttpStream;
  /** The response's status and headers, when formatting response headers. */
  readonly status?: number;
  readonly response?: HeaderMap;
}

export type Formatter = (ctx: FormatContext) => string;

type Part = string | Formatter;

function address(ip: string | undefined, port: number | undefined, withPort: boolean): string {
  if (!ip) return '';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return withPort && port !== undefined ? `${host}:${port}` : withPort ? host : ip;
}

function requestValue(ctx: FormatContext, names: string[]): string {
  const { view } = ctx.stream;
  for (const name of names) {
    let v: string | string[] | undefined;
    if (name === ':path') v = view.query ? `${view.path}?${view.query}` : view.path;
    else if (name === ':authority' || name === 'host') v = view.authority;
    else if (name === ':method') v = view.method;
    else if (name === ':scheme') v = view.scheme;
    else v = view.headers[name];
    if (v !== undefined) return Array.isArray(v) ? (v[0] ?? '') : v;
  }
  return '';
}

/** One `%OPERATOR(arg):max%` → a function; unknown operators fail the config, as in Envoy. */
function operator(command: string, arg: string | undefined, field: string): Formatter {
  const noArg = () => {
    if (arg !== undefined)
      throw new ConfigError(field, `%${command}% takes no argument in skiff (got "${arg}")`);
  };
  switch (command) {
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      noArg();
      return ({ stream }) =>
        address(stream.req.socket.remoteAddress, stream.req.socket.remotePort, true);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      noArg();
      return ({ stream }) => address(stream.req.socket.remoteAddress, undefined, false);
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      noArg();
      return ({ stream }) =>
        address(stream.req.socket.localAddress, stream.req.socket.localPort, true);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      noArg();
      return ({ stream }) => address(stream.req.socket.localAddress, undefined, false);
    case 'DOWNSTREAM_LOCAL_PORT':
      noArg();
      return ({ stream }) => String(stream.req.socket.localPort ?? '');
    case 'UPSTREAM_REMOTE_ADDRESS':
      noArg();
      return ({ stream }) => stream.upstreamHost?.key ?? '';
    case 'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      noArg();
      return ({ stream }) => stream.upstreamHost?.address ?? '';
    case 'UPSTREAM_CLUSTER':
      noArg();
      return ({ stream }) => stream.clusterName;
    case 'HOSTNAME': {
      noArg();
      const name = os.hostname();
      return () => name;
    }
    case 'PROTOCOL':
      noArg();
      return ({ stream }) => `HTTP/${stream.req.httpVersion}`;
    case 'START_TIME':
      noArg();
      return ({ stream }) => stream.startDate.toISOString();
    case 'RESPONSE_CODE':
      noArg();
      return ({ status }) => (status === undefined ? '' : String(status));
    case 'RESPONSE_FLAGS':
      noArg();
      return ({ stream }) => [...stream.responseFlags].join(',');
    case 'RESPONSE_CODE_DETAILS':
      noArg();
      return ({ stream }) => stream.responseCodeDetails;
    case 'REQ': {
      if (!arg) throw new ConfigError(field, '%REQ(header)% needs a header name');
      // `%REQ(X?Y)%`: X, or Y when X is absent.
      const names = arg.split('?').map((s) => s.trim().toLowerCase());
      return (ctx) => requestValue(ctx, names);
    }
    case 'RESP': {
      if (!arg) throw new ConfigError(field, '%RESP(header)% needs a header name');
      const names = arg.split('?').map((s) => s.trim().toLowerCase());
      return ({ response }) => {
        for (const n of names) {
          const v = response?.get(n);
          if (v !== undefined) return v;
        }
        return '';
      };
    }
    default:
      throw new ConfigError(field, `header value operator %${command}% is not supported`);
  }
}

const OPERATOR = /^%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/;

/** One `%COMMAND(arg):max%` of a format string. */
export interface FormatCommand {
  readonly command: string;
  readonly arg: string | undefined;
  readonly max: number | undefined;
}

/**
 * Splits a string with Envoy's command operators into literals and commands (`%%` is a literal
 * `%`); shared with the access log formatter. Returns an error message for a stray `%`.
 */
export function parseCommands(value: string): (string | FormatCommand)[] | { error: string } {
  const parts: (string | FormatCommand)[] = [];
  let literal = '';
  for (let i = 0; i < value.length;) {
    if (value[i] !== '%') {
      literal += value[i++];
      continue;
    }
    if (value[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const m = OPERATOR.exec(value.slice(i));
    if (!m) return { error: `"%" at offset ${i} starts no operator (write "%%" for a literal)` };
    if (literal) parts.push(literal);
    literal = '';
    parts.push({
      command: m[1] ?? '',
      arg: m[2],
      max: m[3] === undefined ? undefined : Number(m[3]),
    });
    i += m[0].length;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** Compiles a header value; throws ConfigError naming `field` for a malformed one. */
export function compileHeaderValue(value: string, field: string): Formatter | string {
  if (!value.includes('%')) return value;
  const parsed = parseCommands(value);
  if (!Array.isArray(parsed))
    throw new ConfigError(
      field,
      `invalid header value ${JSON.stringify(value)}: "%" starts no operator (write "%%" for a literal)`,
    );
  const parts: Part[] = parsed.map((p) => {
    if (typeof p === 'string') return p;
    const f = operator(p.command, p.arg, field);
    const max = p.max;
    return max === undefined ? f : (ctx: FormatContext) => f(ctx).slice(0, max);
  });
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  if (parts.length === 1) return parts[0] as Formatter;
  return (ctx) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(ctx);
    return out;
  };
}
