// Envoy's access log formats (SubstitutionFormatString): a text format or a JSON map of command
// operators (`%REQ(:METHOD)%`, `%DURATION%`, ...), compiled once per config update into
// functions; per request they only read values. Parsing is the header formatter's (one parser
// for Envoy's `%COMMAND(arg):max%` syntax). As in Envoy: an absent value prints `-` in text and
// `null` in JSON, a JSON value that is one operator keeps its type (numbers stay numbers), and
// `omit_empty_values` prints '' (text) or drops the key (JSON).
import os from 'node:os';
import { ConfigError } from '../../config-error.js';
import type { FormatCommand } from '../../routes/header-formatter.js';
import { parseCommands } from '../../routes/header-formatter.js';
import type { Endpoint, LogEntry } from './entry.js';
import { strftime } from './strftime.js';
import { GRPC_CODE_NAMES } from '../../../xds/grpc-codes.js';

/** A value of one operator: a string, a number, or absent (null). */
export type LogValue = string | number | null;
type Operator = (e: LogEntry) => LogValue;

/**
 * Envoy's default format (used when FileAccessLog sets none); Istio's own default is in the
 * control plane (generate/access-log.ts).
 */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const orNull = (s: string | undefined): LogValue => (s === undefined || s === '' ? null : s);

function address(p: Endpoint | undefined, part: 'both' | 'ip' | 'port'): LogValue {
  if (!p) return null;
  if (part === 'port') return p.port ?? null;
  const host = p.ip.includes(':') ? `[${p.ip}]` : p.ip;
  if (part === 'ip') return p.ip;
  return p.port === undefined ? p.ip : `${host}:${p.port}`;
}

const ms = (v: number | undefined): LogValue => (v === undefined ? null : Math.floor(v));

/** `X?Y` of REQ/RESP/TRAILER: X, or Y when X is absent; names lower-cased. */
function headerNames(command: string, arg: string | undefined): string[] {
  if (!arg) throw new ConfigError('', `%${command}(header)% needs a header name`);
  const names = arg.split('?').map((s) => s.trim().toLowerCase());
  if (names.length > 2 || names.some((n) => !n))
    throw new ConfigError('', `%${command}(${arg})%: expected one header, or two as X?Y`);
  return names;
}

function lookup(names: string[], get: (n: string) => string | undefined): LogValue {
  for (const n of names) {
    const v = get(n);
    if (v !== undefined) return v;
  }
  return null;
}

/** Operators skiff knows of but cannot fill yet (TLS peers, upstream socket): always `-`. */
const UNAVAILABLE = new Set([
  'UPSTREAM_LOCAL_ADDRESS',
  'UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'UPSTREAM_LOCAL_PORT',
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_LOCAL_URI_SAN',
  'DOWNSTREAM_PEER_SUBJECT',
  'DOWNSTREAM_LOCAL_SUBJECT',
  'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_TLS_VERSION',
  'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_PEER_FINGERPRINT_256',
  'DOWNSTREAM_PEER_SERIAL',
  'UPSTREAM_PEER_URI_SAN',
  'UPSTREAM_LOCAL_URI_SAN',
  'UPSTREAM_PEER_SUBJECT',
  'UPSTREAM_TLS_VERSION',
  'VIRTUAL_CLUSTER_NAME',
  'DYNAMIC_METADATA',
  'CLUSTER_METADATA',
  'UPSTREAM_METADATA',
  'FILTER_STATE',
]);

function simple(command: string): Operator | undefined {
  switch (command) {
    case 'PROTOCOL':
      return (e) => orNull(e.protocol);
    case 'RESPONSE_CODE':
      return (e) => e.responseCode;
    case 'RESPONSE_FLAGS':
      // Envoy prints `-` for no flags, in JSON too.
      return (e) => (e.responseFlags.length ? e.responseFlags.join(',') : '-');
    case 'RESPONSE_CODE_DETAILS':
      return (e) => orNull(e.responseCodeDetails);
    case 'CONNECTION_TERMINATION_DETAILS':
      return (e) => orNull(e.connectionTerminationDetails);
    case 'BYTES_RECEIVED':
      return (e) => e.bytesReceived;
    case 'BYTES_SENT':
      return (e) => e.bytesSent;
    case 'DURATION':
      return (e) => ms(e.durationMs);
    case 'REQUEST_DURATION':
      return (e) => ms(e.requestDurationMs);
    case 'RESPONSE_DURATION':
      return (e) => ms(e.responseDurationMs);
    case 'RESPONSE_TX_DURATION':
      return (e) =>
        e.responseDurationMs === undefined ? null : ms(e.durationMs - e.responseDurationMs);
    case 'UPSTREAM_HOST':
    case 'UPSTREAM_REMOTE_ADDRESS':
      return (e) => address(e.upstreamHost, 'both');
    case 'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return (e) => address(e.upstreamHost, 'ip');
    case 'UPSTREAM_REMOTE_PORT':
      return (e) => address(e.upstreamHost, 'port');
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return (e) => orNull(e.upstreamCluster);
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT':
      return (e) => e.attempts;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (e) => address(e.downstreamLocal, 'both');
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (e) => address(e.downstreamLocal, 'ip');
    case 'DOWNSTREAM_LOCAL_PORT':
      return (e) => address(e.downstreamLocal, 'port');
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (e) => address(e.downstreamRemote, 'both');
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (e) => address(e.downstreamRemote, 'ip');
    case 'DOWNSTREAM_REMOTE_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_PORT':
      return (e) => address(e.downstreamRemote, 'port');
    case 'REQUESTED_SERVER_NAME':
      return (e) => orNull(e.requestedServerName);
    case 'ROUTE_NAME':
      return (e) => orNull(e.routeName);
    case 'HOSTNAME': {
      const name = os.hostname();
      return () => name;
    }
    default:
      return UNAVAILABLE.has(command) ? () => null : undefined;
  }
}

function grpcStatus(arg: string | undefined): Operator {
  const style = arg ?? 'CAMEL_STRING';
  if (!['CAMEL_STRING', 'SNAKE_STRING', 'NUMBER'].includes(style))
    throw new ConfigError('', `%GRPC_STATUS(${style})%: CAMEL_STRING, SNAKE_STRING or NUMBER`);
  return (e) => {
    const raw = e.responseTrailer('grpc-status') ?? e.responseHeader('grpc-status');
    if (raw === undefined) return null;
    const n = Number(raw);
    if (style === 'NUMBER' || !Number.isInteger(n)) return Number.isInteger(n) ? n : raw;
    const camel = GRPC_CODE_NAMES[n];
    if (camel === undefined) return n;
    return style === 'CAMEL_STRING'
      ? camel
      : camel.replace(/(?<=[a-z])([A-Z])/g, '_$1').toUpperCase();
  };
}

function withArg(command: string, arg: string | undefined): Operator | undefined {
  switch (command) {
    case 'REQ': {
      const names = headerNames(command, arg);
      return (e) => lookup(names, (n) => e.requestHeader(n));
    }
    case 'REQ_WITHOUT_QUERY': {
      // Istio's envoy.formatter.req_without_query: REQ with the query string cut off.
      const names = headerNames(command, arg);
      return (e) => {
        const v = lookup(names, (n) => e.requestHeader(n));
        return typeof v === 'string' ? v.replace(/\?.*$/s, '') : v;
      };
    }
    case 'RESP': {
      const names = headerNames(command, arg);
      return (e) => lookup(names, (n) => e.responseHeader(n));
    }
    case 'TRAILER': {
      const names = headerNames(command, arg);
      return (e) => lookup(names, (n) => e.responseTrailer(n));
    }
    case 'START_TIME': {
      // Envoy's default: ISO 8601 in UTC with milliseconds (%Y-%m-%dT%H:%M:%E3SZ).
      if (arg === undefined || arg === '') return (e) => e.startDate.toISOString();
      const fmt = arg;
      return (e) => strftime(fmt, e.startDate);
    }
    case 'GRPC_STATUS':
    case 'GRPC_STATUS_NUMBER':
      return grpcStatus(command === 'GRPC_STATUS_NUMBER' ? 'NUMBER' : arg);
    case 'ENVIRONMENT': {
      if (!arg) throw new ConfigError('', '%ENVIRONMENT(NAME)% needs a variable name');
      const v = process.env[arg];
      return () => orNull(v);
    }
    default:
      return undefined;
  }
}

function compileCommand(c: FormatCommand): Operator {
  const op = withArg(c.command, c.arg) ?? (c.arg === undefined ? simple(c.command) : undefined);
  if (!op) {
    const known = simple(c.command) !== undefined;
    throw new ConfigError(
      '',
      known
        ? `%${c.command}% takes no argument (got "${c.arg}")`
        : `command operator %${c.command}% is not supported`,
    );
  }
  const max = c.max;
  if (max === undefined) return op;
  // Truncation applies to present values; `-` is never cut.
  return (e) => {
    const v = op(e);
    return v === null ? null : String(v).slice(0, max);
  };
}

type Part = string | Operator;

function compileParts(text: string): Part[] {
  const parsed = parseCommands(text);
  if (!Array.isArray(parsed)) throw new ConfigError('', `invalid format: ${parsed.error}`);
  return parsed.map((p) => (typeof p === 'string' ? p : compileCommand(p)));
}

export type LineFormatter = (e: LogEntry) => string;

/** A text format: `-` for absent values ('' with omit_empty_values). */
export function compileTextFormat(text: string, omitEmpty = false): LineFormatter {
  const parts = compileParts(text);
  const empty = omitEmpty ? '' : '-';
  return (e) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(e);
        out += v === null || v === '' ? empty : v;
      }
    }
    return out;
  };
}

type JsonNode = (e: LogEntry) => unknown;

function compileJsonValue(value: unknown, field: string): JsonNode {
  if (typeof value === 'string') {
    const parts = compileParts(value);
    if (parts.length === 1 && typeof parts[0] === 'function') return parts[0];
    const text = compileTextFormat(value);
    return (e) => text(e);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return () => value;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const inner = compileJsonObject(value as Record<string, unknown>, field);
    return (e) => inner(e);
  }
  throw new ConfigError(field, 'json_format values must be strings, numbers, booleans or maps');
}

function compileJsonObject(
  format: Readonly<Record<string, unknown>>,
  field: string,
  omitEmpty = false,
): (e: LogEntry) => Record<string, unknown> {
  const entries = Object.entries(format).map(
    ([k, v]) => [k, compileJsonValue(v, field ? `${field}.${k}` : k)] as const,
  );
  return (e) => {
    const out: Record<string, unknown> = {};
    for (const [k, f] of entries) {
      const v = f(e);
      if (omitEmpty && (v === null || v === '')) continue;
      out[k] = v;
    }
    return out;
  };
}

/** A JSON format: one object per line, keys in the order given. */
export function compileJsonFormat(
  format: Readonly<Record<string, unknown>>,
  omitEmpty = false,
): LineFormatter {
  const obj = compileJsonObject(format, '', omitEmpty);
  return (e) => `${JSON.stringify(obj(e))}\n`;
}
