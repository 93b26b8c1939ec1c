// envoy.config.listener.v3.FilterChainMatch compiled, and Envoy's filter chain selection: criteria
// are tried in a fixed order (destination port, destination IP, server name, transport protocol,
// application protocols) and at each level the most specific value wins, a chain that does not
// set the field only when none is more specific; there is no backtracking, so a connection that
// fails a later level matches no chain at all (and gets the default filter chain, if any).
// A connection a CONNECT tunnel handed to an internal listener has, as its destination IP, the
// address the CONNECT named (`10.1.2.3:5432`, `[fd00::1]:5432`); one to a host name has none,
// and matches only chains without prefix_ranges.
import { isIP } from 'node:net';
import { ConfigError } from '../config-error.js';
import type { ConnectionInfo } from './connection.js';

type Obj = Record<string, unknown>;

interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Buffer;
  readonly prefixLen: number;
}

export interface ChainMatch {
  readonly destinationPort: number | undefined;
  readonly prefixRanges: readonly Cidr[];
  /** Exact names and `*.suffix` wildcards, lower-cased. */
  readonly serverNames: readonly string[];
  /** '' matches any. */
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
}

/** Fields skiff does not match on yet: a chain using them is refused rather than misapplied. */
const UNSUPPORTED = [
  'direct_source_prefix_ranges',
  'source_type',
  'source_prefix_ranges',
  'source_ports',
] as const;

function ipBytes(address: string): Buffer | undefined {
  const family = isIP(address);
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  if (family !== 6) return undefined;
  // Expand `::` and an embedded IPv4 tail into 16 bytes.
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number);
    text =
      text.slice(0, -v4[1].length) +
      `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

function compileCidr(c: Obj, field: string): Cidr {
  const address = String(c['address_prefix'] ?? '');
  const bytes = ipBytes(address);
  if (!bytes)
    throw new ConfigError(
      `${field}.address_prefix`,
      `${JSON.stringify(address)} is not an IP address`,
    );
  const family = bytes.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const prefixLen = c['prefix_len'] === undefined ? max : Number(c['prefix_len']);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max)
    throw new ConfigError(`${field}.prefix_len`, `must be 0..${max}`);
  return { family, bytes, prefixLen };
}

function cidrContains(c: Cidr, address: Buffer): boolean {
  if (address.length !== c.bytes.length) return false;
  let bits = c.prefixLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((address[i] ?? 0) & mask) !== ((c.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

export function compileFilterChainMatch(m: Obj | undefined): ChainMatch {
  const match = m ?? {};
  for (const f of UNSUPPORTED) {
    const v = match[f];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== 'ANY')
      throw new ConfigError(f, 'matching on the source is not supported yet');
  }
  const port = match['destination_port'];
  const destinationPort = port === undefined ? undefined : Number(port);
  if (destinationPort !== undefined && !(destinationPort >= 1 && destinationPort <= 65535))
    throw new ConfigError('destination_port', 'must be 1..65535');
  const serverNames = ((match['server_names'] as string[] | undefined) ?? []).map((s) =>
    s.toLowerCase(),
  );
  for (const [i, s] of serverNames.entries()) {
    if (s.includes('*') && !(s.startsWith('*.') && !s.slice(1).includes('*')))
      throw new ConfigError(
        `server_names[${i}]`,
        `${JSON.stringify(s)}: only a leading "*." wildcard is allowed`,
      );
  }
  return Object.freeze({
    destinationPort,
    prefixRanges: ((match['prefix_ranges'] as Obj[] | undefined) ?? []).map((c, i) =>
      compileCidr(c, `prefix_ranges[${i}]`),
    ),
    serverNames,
    transportProtocol: String(match['transport_protocol'] ?? ''),
    applicationProtocols: (match['application_protocols'] as string[] | undefined) ?? [],
  });
}

/** A key equal for two matches that accept exactly the same connections (Envoy refuses those). */
export function matchKey(m: ChainMatch): string {
  return JSON.stringify([
    m.destinationPort ?? null,
    m.prefixRanges.map((c) => `${c.bytes.toString('hex')}/${c.prefixLen}`).sort(),
    [...m.serverNames].sort(),
    m.transportProtocol,
    [...m.applicationProtocols].sort(),
  ]);
}

/** Whether any chain needs what a TLS inspector finds (SNI, ALPN or the transport protocol). */
export function needsInspection(matches: readonly ChainMatch[]): boolean {
  return matches.some(
    (m) =>
      m.serverNames.length > 0 || m.transportProtocol !== '' || m.applicationProtocols.length > 0,
  );
}

/** Narrows `items` to the most specific level that accepts the connection; [] when none does. */
function level<T>(items: readonly T[], score: (item: T) => number): T[] {
  // score: -1 = rejects, 0 = does not set the field (wildcard), higher = more specific.
  let best = -1;
  for (const item of items) best = Math.max(best, score(item));
  return best < 0 ? [] : items.filter((item) => score(item) === best);
}

function serverNameScore(names: readonly string[], sni: string): number {
  if (names.length === 0) return 0;
  if (!sni) return -1;
  if (names.includes(sni)) return 100_000;
  // The longest matching `*.suffix` wins: `*.b.example.com` before `*.example.com`.
  let best = -1;
  for (const n of names) {
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && sni.length > n.length - 1)
      best = Math.max(best, n.length);
  }
  return best;
}

/** The destination IP chains match: a tunnel's CONNECT address (when an IP), else the socket's. */
export function destinationIp(conn: ConnectionInfo): string | undefined {
  if (conn.tunnelAuthority === undefined) return conn.localAddress.replace(/^::ffff:/, '');
  const a = conn.tunnelAuthority;
  const host = a.startsWith('[') ? a.slice(1, a.indexOf(']')) : a.replace(/:\d*$/, '');
  return isIP(host) ? host.replace(/^::ffff:(?=\d+\.)/i, '') : undefined;
}

function portLevel<T extends { readonly match: ChainMatch }>(
  chains: readonly T[],
  conn: ConnectionInfo,
): T[] {
  return level(chains, ({ match }) =>
    match.destinationPort === undefined ? 0 : match.destinationPort === conn.localPort ? 1 : -1,
  );
}

function ipLevel<T extends { readonly match: ChainMatch }>(
  chains: readonly T[],
  conn: ConnectionInfo,
): T[] {
  if (chains.length <= 1 && !chains[0]?.match.prefixRanges.length) return [...chains];
  const ip = destinationIp(conn);
  const local = ip === undefined ? undefined : ipBytes(ip);
  return level(chains, ({ match }) => {
    if (match.prefixRanges.length === 0) return 0;
    let best = -1;
    for (const r of match.prefixRanges)
      if (local && cidrContains(r, local)) best = Math.max(best, 1 + r.prefixLen);
    return best;
  });
}

/**
 * Whether listener filters' findings (SNI, ALPN, transport) can change which chain this
 * connection gets: not when the chains its destination port and IP leave match on none of them.
 * Istio gives each outbound port a listener of its own, a TCP one without a tls_inspector (whose
 * wait for a ClientHello would stall server-first protocols); an internal listener serving many
 * ports skips the inspection for the ports that do not need it, to the same effect.
 */
export function inspectionMatters<T extends { readonly match: ChainMatch }>(
  chains: readonly T[],
  conn: ConnectionInfo,
): boolean {
  return needsInspection(ipLevel(portLevel(chains, conn), conn).map((c) => c.match));
}

/** Envoy's selection; undefined when no chain matches. */
export function selectChain<T extends { readonly match: ChainMatch }>(
  chains: readonly T[],
  conn: ConnectionInfo,
): T | undefined {
  let c = ipLevel(portLevel(chains, conn), conn);
  c = level(c, ({ match }) => serverNameScore(match.serverNames, conn.serverName));
  c = level(c, ({ match }) =>
    match.transportProtocol === ''
      ? 0
      : match.transportProtocol === conn.transportProtocol
        ? 1
        : -1,
  );
  c = level(c, ({ match }) =>
    match.applicationProtocols.length === 0
      ? 0
      : conn.applicationProtocols.some((p) => match.applicationProtocols.includes(p))
        ? 1
        : -1,
  );
  return c[0];
}
