// The control plane's JWKS resolver, as istiod's (pilot/pkg/model/jwks_resolver.go): it fetches
// the key sets jwtRules point to (jwksUri, or the issuer's OpenID discovery document), keeps them,
// refreshes them every interval (PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20m by default) and reports
// a change so the proxies get the new keys inline. A fetch that fails leaves no entry, and the
// generator then inlines a key set nothing verifies against (fail closed); a refresh that fails
// keeps the keys last fetched.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import type net from 'node:net';
import { BlockList, isIP } from 'node:net';
import tls from 'node:tls';
import { parseDuration } from '../../config/checks/duration.js';
import type { ConfigResource } from '../../config/resource.js';
import type { JwksSource, RequestAuthenticationResource } from '../model/request-authentication.js';
import { jwksSourceKey, remoteJwksOf } from '../model/request-authentication.js';

/** istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL default. */
export const DEFAULT_REFRESH_MS = 20 * 60_000;
/** istiod's retry interval for key sets it could not fetch (JwtPubKeyRefreshIntervalOnFailure). */
const RETRY_FAILED_MS = 60_000;
/** A jwtRule's `timeout` default. */
const DEFAULT_TIMEOUT_MS = 5_000;
/** The most a JWKS or discovery document may weigh. */
const MAX_BODY = 1 << 20;
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/** The refresh interval from istiod's environment variable (a Go duration), else the default. */
export function refreshIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env['PILOT_JWT_PUB_KEY_REFRESH_INTERVAL'];
  if (!text) return DEFAULT_REFRESH_MS;
  const d = parseDuration(text);
  return d.ok && d.seconds > 0 ? d.seconds * 1000 : DEFAULT_REFRESH_MS;
}

/** Every remote key source of the RequestAuthentications in the config. */
export function jwksSourcesIn(resources: readonly ConfigResource[]): JwksSource[] {
  const out = new Map<string, JwksSource>();
  for (const r of resources) {
    if (r.kind !== 'RequestAuthentication') continue;
    for (const rule of (r as RequestAuthenticationResource).spec.jwtRules ?? []) {
      const s = remoteJwksOf(rule);
      if (s) out.set(jwksSourceKey(s), s);
    }
  }
  return [...out.values()];
}

/**
 * Trust for https: Node's bundled roots plus the system's bundle and NODE_EXTRA_CA_CERTS (an
 * explicit `ca` replaces Node's defaults, so all are listed).
 */
function trustedRoots(): string[] {
  const roots = [...tls.rootCertificates];
  for (const file of [...SYSTEM_BUNDLES, process.env['NODE_EXTRA_CA_CERTS'] ?? '']) {
    if (!file) continue;
    try {
      roots.push(readFileSync(file, 'utf8'));
    } catch {
      // absent on this system
    }
  }
  return roots;
}

/**
 * Addresses a JWKS is never fetched from, as istiod's jwksBlockedIP (pkg/security/dial.go): link-local
 * unicast and multicast (cloud metadata endpoints live there) and the known metadata addresses
 * outside it; loopback and private addresses stay allowed (in-cluster OIDC providers). A
 * BlockList also matches IPv4-mapped IPv6 forms (`[::ffff:169.254.169.254]`).
 */
const BLOCKED = new BlockList();
BLOCKED.addSubnet('169.254.0.0', 16, 'ipv4');
BLOCKED.addSubnet('224.0.0.0', 24, 'ipv4');
BLOCKED.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata
BLOCKED.addSubnet('fe80::', 10, 'ipv6');
BLOCKED.addSubnet('ff02::', 16, 'ipv6');
BLOCKED.addSubnet('fd00:ec2::', 32, 'ipv6'); // AWS IMDS over IPv6

/** Why an address may not be fetched from, or undefined when it may. */
export function blockedAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6')
    ? `connection blocked: ${address} is link-local or a cloud metadata address`
    : undefined;
}

/**
 * Names are checked once resolved, every address of them (Node connects to IP literals without
 * a lookup, so those are checked before). Node 20 asks for all addresses when it races address
 * families (autoSelectFamily), so the answer takes the shape that was asked for.
 */
export const guardedLookup = ((host: string, opts: dns.LookupOptions, cb: LookupCallback) => {
  dns.lookup(host, { ...opts, all: true }, (err, addresses) => {
    if (err) return cb(err, '', 0);
    const blocked = addresses.map((a) => blockedAddress(a.address)).find(Boolean);
    if (blocked) return cb(new Error(blocked), '', 0);
    const first = addresses[0];
    if (!first) return cb(new Error(`${host} has no address`), '', 0);
    if (opts.all) (cb as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
    else cb(null, first.address, first.family);
  });
}) as unknown as net.LookupFunction;

type LookupCallback = (err: Error | null, address: string, family: number) => void;

interface Entry {
  readonly source: JwksSource;
  jwks: string | undefined;
  lastTry: number;
}

export interface JwksResolverOptions {
  readonly refreshMs: number;
  readonly log: (line: string) => void;
  /** Called when a fetched key set changed (or appeared): rebuild and push. */
  readonly onChange: () => void;
  readonly timeoutMs?: number;
}

export class JwksResolver {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private ca: string[] | undefined;

  constructor(private readonly o: JwksResolverOptions) {}

  /** Fetched key sets by jwksSourceKey, for the model. */
  snapshot(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const [k, e] of this.entries) if (e.jwks !== undefined) out.set(k, e.jwks);
    return out;
  }

  /**
   * Fetches the sources not seen before (the ones already known are served from the cache) and
   * forgets sources the config no longer names. Resolves when the new fetches are done.
   */
  async ensure(sources: readonly JwksSource[]): Promise<void> {
    const keys = new Set(sources.map(jwksSourceKey));
    for (const k of this.entries.keys()) if (!keys.has(k)) this.entries.delete(k);
    const waits: Promise<void>[] = [];
    for (const s of sources) {
      const key = jwksSourceKey(s);
      const pending = this.inFlight.get(key);
      if (pending) waits.push(pending);
      else if (!this.entries.has(key)) {
        this.entries.set(key, { source: s, jwks: undefined, lastTry: 0 });
        waits.push(this.refreshOne(key));
      }
    }
    await Promise.all(waits);
    this.scheduleRetry();
  }

  /** Starts the periodic refresh. */
  start(): void {
    this.timer ??= setInterval(() => void this.refreshAll(), this.o.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = undefined;
  }

  /** Key sets that failed are tried again sooner than the refresh (istiod: 1 min on failure). */
  private scheduleRetry(): void {
    if (this.retryTimer || ![...this.entries.values()].some((e) => e.jwks === undefined)) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void Promise.all(
          [...this.entries]
            .filter(([, e]) => e.jwks === undefined)
            .map(([k]) => this.refreshOne(k)),
        ).then(() => this.scheduleRetry());
      },
      Math.min(RETRY_FAILED_MS, this.o.refreshMs),
    );
    this.retryTimer.unref();
  }

  private async refreshAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.refreshOne(k)));
  }

  private refreshOne(key: string): Promise<void> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const run = this.fetchSource(key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    return run;
  }

  private async fetchSource(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.lastTry = Date.now();
    const { source } = entry;
    let text: string;
    try {
      const timeoutMs = source.timeoutMs ?? this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const uri = source.jwksUri ?? (await this.discover(source.issuer, timeoutMs));
      text = await this.get(uri, timeoutMs);
      const doc = JSON.parse(text) as { keys?: unknown };
      // istiod's validateJWKSFormat: a fetched body that is no key set is never inlined.
      if (!Array.isArray(doc.keys)) throw new Error('not a JSON Web Key Set (no "keys" array)');
    } catch (e) {
      this.o.log(
        `jwks: cannot fetch keys for issuer "${source.issuer}" from ${source.jwksUri ?? 'OpenID discovery'}: ${(e as Error).message}` +
          (entry.jwks === undefined
            ? '; tokens of this issuer are rejected'
            : '; keeping the keys fetched before'),
      );
      this.scheduleRetry();
      return;
    }
    if (this.entries.get(key) !== entry || entry.jwks === text) return;
    const first = entry.jwks === undefined;
    entry.jwks = text;
    this.o.log(`jwks: ${first ? 'fetched' : 'updated'} keys for issuer "${source.issuer}"`);
    this.o.onChange();
  }

  /** The jwks_uri of an issuer's OpenID Provider Metadata (OpenID Connect Discovery 1.0 §4). */
  private async discover(issuer: string, timeoutMs: number): Promise<string> {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = JSON.parse(await this.get(url, timeoutMs)) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return doc.jwks_uri;
  }

  private get(uri: string, timeoutMs: number): Promise<string> {
    const url = new URL(uri);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      return Promise.reject(new Error(`unsupported URL ${uri}`));
    const blocked = blockedAddress(url.hostname.replace(/^\[|\]$/g, ''));
    if (blocked) return Promise.reject(new Error(blocked));
    if (secure) this.ca ??= trustedRoots();
    return new Promise((resolve, reject) => {
      // One deadline for the whole exchange, body included (istiod's context timeout): a server
      // that trickles bytes must not hold the fetch open past the rule's timeout.
      const fail = (e: Error) => {
        clearTimeout(deadline);
        req.destroy();
        reject(e);
      };
      const deadline = setTimeout(
        () => fail(new Error(`no complete answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const req = (secure ? https : http).get(
        url,
        { lookup: guardedLookup, agent: false, ...(secure ? { ca: this.ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) fail(new Error(`response larger than ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            clearTimeout(deadline);
            const body = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300)
              reject(new Error(`status ${status}: ${JSON.stringify(body.slice(0, 100))}`));
            else resolve(body);
          });
          res.on('error', fail);
        },
      );
      req.on('error', fail);
    });
  }
}
