// A route's hash_policy (envoy.config.route.v3.RouteAction.HashPolicy): the key consistent
// hashing (RING_HASH, MAGLEV) picks a host by. Header, cookie (issued with its ttl and path when
// absent, as Envoy's router does), connection source IP and query parameter; policies combine
// as Envoy's HashPolicyImpl (rotate, xor; a terminal policy with a hash stops the list).
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError, inField } from '../../config-error.js';
import { durationMs } from '../duration.js';
import { uint64ToHex, xxHash64 } from './xxhash64.js';

type Obj = Record<string, unknown>;

/** What a hash policy reads from one request. */
export interface HashInput {
  readonly headers: IncomingHttpHeaders;
  readonly authority: string;
  readonly path: string;
  /** The query string without `?`. */
  readonly query: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export interface HashResult {
  readonly hash: bigint | undefined;
  /** A Set-Cookie value for the response (a cookie policy with a ttl issued it). */
  readonly setCookie: string | undefined;
}

type Method = (input: HashInput, out: { setCookie?: string }) => bigint | undefined;

interface Entry {
  readonly method: Method;
  readonly terminal: boolean;
}

const M64 = (1n << 64n) - 1n;

function headerMethod(name: string): Method {
  const lower = name.toLowerCase();
  return (input) => {
    let value: string | string[] | undefined;
    if (lower === ':authority' || lower === 'host') value = input.authority;
    else if (lower === ':path') value = input.query ? `${input.path}?${input.query}` : input.path;
    else value = input.headers[lower];
    if (value === undefined) return undefined;
    // Several values hash the same in any order (Envoy sorts them).
    return xxHash64(Array.isArray(value) ? [...value].sort().join('') : value);
  };
}

/** The value of cookie `name` in the Cookie header(s), quotes stripped (Envoy's parseCookieValue). */
export function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers['cookie'];
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

function cookieMethod(c: Obj): Method {
  const name = String(c['name'] ?? '');
  if (!name) throw new ConfigError('name', 'a cookie hash policy needs a cookie name');
  const hasTtl = c['ttl'] !== undefined;
  const ttlS = Math.floor(durationMs(c['ttl'], 'ttl') / 1000);
  const path = typeof c['path'] === 'string' ? c['path'] : '';
  const attributes = ((c['attributes'] as Obj[] | undefined) ?? []).map((a) =>
    a['value'] !== undefined && a['value'] !== ''
      ? `${String(a['name'])}=${String(a['value'])}`
      : String(a['name']),
  );
  return (input, out) => {
    const present = cookieValue(input.headers, name);
    if (present !== undefined) return xxHash64(present);
    if (!hasTtl) return undefined;
    // Envoy's addDownstreamSetCookie: the same value for every request of one connection.
    const value = uint64ToHex(
      xxHash64(
        `${input.remoteAddress}:${input.remotePort}${input.localAddress}:${input.localPort}`,
      ),
    );
    let cookie = `${name}="${value}"`;
    if (ttlS > 0) cookie += `; Max-Age=${ttlS}`;
    if (path) cookie += `; Path=${path}`;
    for (const a of attributes) cookie += `; ${a}`;
    out.setCookie = `${cookie}; HttpOnly`;
    return xxHash64(value);
  };
}

function queryMethod(name: string): Method {
  return (input) => {
    if (!input.query) return undefined;
    for (const pair of input.query.split('&')) {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (key === name) return xxHash64(eq < 0 ? '' : pair.slice(eq + 1));
    }
    return undefined;
  };
}

const sourceIpMethod: Method = (input) =>
  input.remoteAddress ? xxHash64(input.remoteAddress) : undefined;

function compileEntry(p: Obj): Entry {
  const terminal = p['terminal'] === true;
  if (p['header']) {
    const h = p['header'] as Obj;
    if (h['regex_rewrite'] !== undefined)
      throw new ConfigError('header.regex_rewrite', 'is not supported');
    const name = String(h['header_name'] ?? '');
    if (!name) throw new ConfigError('header.header_name', 'required');
    return { method: headerMethod(name), terminal };
  }
  if (p['cookie'])
    return { method: inField('cookie', () => cookieMethod(p['cookie'] as Obj)), terminal };
  if (p['connection_properties']) {
    const cp = p['connection_properties'] as Obj;
    // source_ip false hashes nothing, as in Envoy.
    return { method: cp['source_ip'] === true ? sourceIpMethod : () => undefined, terminal };
  }
  if (p['query_parameter']) {
    const name = String((p['query_parameter'] as Obj)['name'] ?? '');
    if (!name) throw new ConfigError('query_parameter.name', 'required');
    return { method: queryMethod(name), terminal };
  }
  throw new ConfigError(
    '',
    'only header, cookie, connection_properties and query_parameter are supported',
  );
}

export class HashPolicy {
  private constructor(private readonly entries: readonly Entry[]) {}

  /** Compiles route.hash_policy; undefined when the list is empty. */
  static compile(list: unknown): HashPolicy | undefined {
    if (!Array.isArray(list) || list.length === 0) return undefined;
    return new HashPolicy(
      (list as Obj[]).map((p, i) => inField(`hash_policy[${i}]`, () => compileEntry(p))),
    );
  }

  /** Envoy's generateHash: each hash rotates the previous one left by 1 and xors in. */
  compute(input: HashInput): HashResult {
    let hash: bigint | undefined;
    const out: { setCookie?: string } = {};
    for (const e of this.entries) {
      const h = e.method(input, out);
      if (h !== undefined) {
        const old = hash === undefined ? 0n : ((hash << 1n) | (hash >> 63n)) & M64;
        hash = old ^ h;
      }
      if (e.terminal && hash !== undefined) break;
    }
    return { hash, setCookie: out.setCookie };
  }
}
