// Envoy's RBAC policies (envoy.config.rbac.v3.RBAC) compiled once per config into predicates over
// an AuthzRequest; shared by the HTTP and the network rbac filters. Permissions and principals
// are the proto's recursive rules (and/or/not/any, header, url_path, IPs, ports, SNI,
// authenticated, metadata). Istio's `istio_authn` metadata (request.auth.*) is read from the
// identity jwt_authn proved (HttpStream.requestAuth), which is what Istio's authn filter writes.
import net from 'node:net';
import { ConfigError, inField } from '../config-error.js';
import type { RequestAuth } from '../http/stream.js';
import type { Predicate, RequestView } from '../routes/matchers.js';
import { compileHeaderMatcher, compileStringMatcher } from '../routes/matchers.js';

type Obj = Record<string, unknown>;

/** What a policy looks at: a connection, and for HTTP, the request. Fields are read lazily. */
export interface AuthzRequest {
  /** The connection's peer address (Envoy's direct remote address). */
  readonly directRemoteIp: string;
  /** The original client address (x-forwarded-for as the connection manager trusts it). */
  readonly remoteIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** The verified peer's URI SAN (`spiffe://td/ns/x/sa/y`), undefined without mTLS. */
  readonly peerPrincipal: string | undefined;
  readonly sni: string;
  /** Undefined on TCP: HTTP-only matchers never match. */
  readonly view: RequestView | undefined;
  readonly requestAuth: RequestAuth | undefined;
}

export type AuthzMatcher = Predicate<AuthzRequest>;

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address Envoy compares it as. */
export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

/**
 * A CIDR range; node's BlockList compares IPv4 and IPv4-mapped IPv6 either way round, so the
 * prefix keeps its own family (`::ffff:10.0.0.0/104` is a valid IPv6 range, not a /104 IPv4 one).
 */
function compileCidr(c: Obj, field: string): Predicate<string> {
  const prefix = String(c['address_prefix'] ?? '');
  const family = net.isIPv4(prefix) ? 'ipv4' : net.isIPv6(prefix) ? 'ipv6' : undefined;
  if (!family) throw new ConfigError(`${field}.address_prefix`, `"${prefix}" is not an IP`);
  const len = Number(c['prefix_len'] ?? (family === 'ipv4' ? 32 : 128));
  if (!Number.isInteger(len) || len < 0 || len > (family === 'ipv4' ? 32 : 128))
    throw new ConfigError(`${field}.prefix_len`, `${String(c['prefix_len'])} is out of range`);
  const list = new net.BlockList();
  list.addSubnet(prefix, len, family);
  return (ip) => {
    const a = plainIp(ip);
    const f = net.isIPv4(a) ? 'ipv4' : net.isIPv6(a) ? 'ipv6' : undefined;
    return f !== undefined && list.check(a, f);
  };
}

/**
 * A dynamic metadata value RBAC can read: jwt_authn's verified payload
 * (`envoy.filters.http.jwt_authn` / `payload` / claim..., what Istio's policies match on), or the
 * older `istio_authn` request.auth.* keys.
 */
function metadataValue(r: AuthzRequest, filter: string, path: readonly string[]): unknown {
  const auth = r.requestAuth;
  if (!auth) return undefined;
  const [first, ...rest] = path;
  if (filter === 'envoy.filters.http.jwt_authn') {
    if (first !== 'payload') return undefined;
    return walk(auth.claims, rest);
  }
  if (filter !== 'istio_authn') return undefined;
  switch (first) {
    case 'request.auth.principal':
      return auth.principal;
    case 'request.auth.audiences':
      return [...auth.audiences];
    case 'request.auth.presenter':
      return auth.presenter;
    case 'request.auth.claims':
      return walk(auth.claims, rest);
  }
  return undefined;
}

function walk(v: unknown, keys: readonly string[]): unknown {
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** envoy.type.matcher.v3.ValueMatcher over a JSON-ish value. */
export function compileValueMatcher(m: Obj, field: string): Predicate<unknown> {
  if (m['string_match']) {
    const s = compileStringMatcher(m['string_match'] as Obj, `${field}.string_match`);
    return (v) => typeof v === 'string' && s(v);
  }
  if (m['list_match']) {
    const one = (m['list_match'] as Obj)['one_of'] as Obj | undefined;
    if (!one) throw new ConfigError(`${field}.list_match.one_of`, 'required');
    const inner = compileValueMatcher(one, `${field}.list_match.one_of`);
    return (v) => Array.isArray(v) && v.some((e) => inner(e));
  }
  if (m['or_match']) {
    const list = ((m['or_match'] as Obj)['value_matchers'] as Obj[] | undefined) ?? [];
    const each = list.map((x, i) =>
      compileValueMatcher(x, `${field}.or_match.value_matchers[${i}]`),
    );
    return (v) => each.some((e) => e(v));
  }
  if (m['present_match'] !== undefined) return (v) => v !== undefined && v !== null;
  if (m['bool_match'] !== undefined) return (v) => v === m['bool_match'];
  if (m['null_match'] !== undefined) return (v) => v === null;
  throw new ConfigError(field, 'a ValueMatcher needs string_match, list_match or present_match');
}

function compileMetadata(m: Obj, field: string): AuthzMatcher {
  const filter = String(m['filter'] ?? '');
  const path = ((m['path'] as Obj[] | undefined) ?? []).map((s) => String(s['key'] ?? ''));
  const value = compileValueMatcher((m['value'] as Obj | undefined) ?? {}, `${field}.value`);
  const invert = m['invert'] === true;
  return (r) => value(metadataValue(r, filter, path)) !== invert;
}

function compileCommon(key: string, v: unknown, field: string): AuthzMatcher | undefined {
  switch (key) {
    case 'any':
      if (v !== true) throw new ConfigError(field, 'any must be true');
      return () => true;
    case 'header': {
      const h = compileHeaderMatcher(v as Obj, field);
      return (r) => r.view !== undefined && h(r.view);
    }
    case 'url_path': {
      const p = (v as Obj)['path'] as Obj | undefined;
      if (!p) throw new ConfigError(`${field}.path`, 'required');
      const s = compileStringMatcher(p, `${field}.path`);
      return (r) => r.view !== undefined && s(r.view.path);
    }
    case 'metadata':
      return compileMetadata(v as Obj, field);
  }
  return undefined;
}

/** The single set field of a oneof rule. */
function onlyKey(o: Obj, field: string): [string, unknown] {
  const keys = Object.entries(o).filter(([, v]) => v !== undefined && v !== null);
  if (keys.length !== 1) throw new ConfigError(field, 'exactly one rule must be set');
  return keys[0] as [string, unknown];
}

/** The and/or/not shape of Permission and Principal, and the leaves that differ. */
interface Grammar {
  readonly kind: string;
  readonly and: string;
  readonly or: string;
  readonly not: string;
  /** The list field of `and` / `or` (`rules`, `ids`). */
  readonly list: string;
  readonly leaf: (key: string, v: unknown, at: string) => AuthzMatcher | undefined;
}

function compileRule(p: Obj, field: string, g: Grammar): AuthzMatcher {
  const [key, v] = onlyKey(p, field);
  const at = `${field}.${key}`;
  const list = (): AuthzMatcher[] =>
    (((v as Obj)[g.list] as Obj[] | undefined) ?? []).map((x, i) =>
      compileRule(x, `${at}.${g.list}[${i}]`, g),
    );
  if (key === g.and) {
    const all = list();
    return (r) => all.every((m) => m(r));
  }
  if (key === g.or) {
    const some = list();
    return (r) => some.some((m) => m(r));
  }
  if (key === g.not) {
    const inner = compileRule(v as Obj, at, g);
    return (r) => !inner(r);
  }
  const m = compileCommon(key, v, at) ?? g.leaf(key, v, at);
  if (!m) throw new ConfigError(at, `${g.kind} ${key} is not supported`);
  return m;
}

function permissionLeaf(key: string, v: unknown, at: string): AuthzMatcher | undefined {
  switch (key) {
    case 'destination_ip': {
      const c = compileCidr(v as Obj, at);
      return (r) => c(r.destinationIp);
    }
    case 'destination_port': {
      const port = Number(v);
      return (r) => r.destinationPort === port;
    }
    case 'destination_port_range': {
      const lo = Number((v as Obj)['start']);
      const hi = Number((v as Obj)['end']);
      return (r) => r.destinationPort >= lo && r.destinationPort < hi;
    }
    case 'requested_server_name': {
      const s = compileStringMatcher(v as Obj, at);
      return (r) => s(r.sni);
    }
  }
  return undefined;
}

function principalLeaf(key: string, v: unknown, at: string): AuthzMatcher | undefined {
  switch (key) {
    case 'authenticated': {
      const name = (v as Obj)['principal_name'] as Obj | undefined;
      // Without principal_name: any verified peer (Envoy: "the connection is authenticated").
      if (!name) return (r) => r.peerPrincipal !== undefined;
      const s = compileStringMatcher(name, `${at}.principal_name`);
      return (r) => r.peerPrincipal !== undefined && s(r.peerPrincipal);
    }
    case 'source_ip':
    case 'direct_remote_ip': {
      const c = compileCidr(v as Obj, at);
      return (r) => c(r.directRemoteIp);
    }
    case 'remote_ip': {
      const c = compileCidr(v as Obj, at);
      return (r) => c(r.remoteIp);
    }
  }
  return undefined;
}

const PERMISSION: Grammar = {
  kind: 'permission',
  and: 'and_rules',
  or: 'or_rules',
  not: 'not_rule',
  list: 'rules',
  leaf: permissionLeaf,
};
const PRINCIPAL: Grammar = {
  kind: 'principal',
  and: 'and_ids',
  or: 'or_ids',
  not: 'not_id',
  list: 'ids',
  leaf: principalLeaf,
};

/** envoy.config.rbac.v3.Permission */
export function compilePermission(p: Obj, field: string): AuthzMatcher {
  return compileRule(p, field, PERMISSION);
}

/** envoy.config.rbac.v3.Principal */
export function compilePrincipal(p: Obj, field: string): AuthzMatcher {
  return compileRule(p, field, PRINCIPAL);
}

export interface CompiledPolicy {
  readonly name: string;
  readonly permission: AuthzMatcher;
  readonly principal: AuthzMatcher;
}

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** An RBAC engine: its action and policies, in name order (Envoy keeps them in a std::map). */
export interface RbacEngine {
  readonly action: RbacAction;
  readonly policies: readonly CompiledPolicy[];
}

/** envoy.config.rbac.v3.RBAC */
export function compileRbac(rbac: Obj, field: string): RbacEngine {
  const action = String(rbac['action'] ?? 'ALLOW');
  if (action !== 'ALLOW' && action !== 'DENY' && action !== 'LOG')
    throw new ConfigError(`${field}.action`, `action ${action} is not supported`);
  const policies = Object.entries((rbac['policies'] as Record<string, Obj> | undefined) ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) =>
      inField(`${field}.policies[${name}]`, () => {
        const perms = ((p['permissions'] as Obj[] | undefined) ?? []).map((x, i) =>
          compilePermission(x, `permissions[${i}]`),
        );
        const ids = ((p['principals'] as Obj[] | undefined) ?? []).map((x, i) =>
          compilePrincipal(x, `principals[${i}]`),
        );
        if (p['condition'] !== undefined || p['checked_condition'] !== undefined)
          throw new ConfigError('condition', 'CEL conditions are not supported');
        return {
          name,
          permission: (r: AuthzRequest) => perms.some((m) => m(r)),
          principal: (r: AuthzRequest) => ids.some((m) => m(r)),
        };
      }),
    );
  return { action, policies };
}

/** The first policy matching `r`, by name. */
export function matchedPolicy(e: RbacEngine, r: AuthzRequest): string | undefined {
  for (const p of e.policies) if (p.permission(r) && p.principal(r)) return p.name;
  return undefined;
}

/** Whether the engine lets `r` through, and the policy that decided (Envoy's effective id). */
export function evaluate(e: RbacEngine, r: AuthzRequest): { allowed: boolean; policy?: string } {
  const policy = matchedPolicy(e, r);
  const allowed =
    e.action === 'ALLOW' ? policy !== undefined : e.action === 'DENY' ? policy === undefined : true;
  return policy === undefined ? { allowed } : { allowed, policy };
}
