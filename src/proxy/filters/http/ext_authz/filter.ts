// Envoy's ext_authz HTTP filter with an HTTP authorizer (ext_authz_http_impl.cc): for a request
// its filter_enabled_metadata enables, sends a check request (same method, path_prefix + path,
// the allowed headers, no body) to the cluster; a 200 lets the request go on with the allowed
// upstream headers set, anything else is the answer to the client (its status, body and the
// allowed client headers); a failure (refused, timeout) lets through with failure_mode_allow,
// else answers status_on_error (a 5xx answer too). Denials are flagged UAEX.
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpStream } from '../../../http/stream.js';
import { authzClusters } from '../../../authz/clusters.js';
import { dynamicMetadata } from '../../../authz/metadata.js';
import type { FilterContext } from '../filter-stats.js';
import { FilterStats } from '../filter-stats.js';
import type { HeaderMap } from '../header-map.js';
import type { HttpFilter, HttpFilterFactory, LocalReply } from '../types.js';
import { addRequestHeader, removeRequestHeaders } from '../../../http/request-headers.js';
import type { ExtAuthzConfig } from './config.js';
import { compileExtAuthz } from './config.js';

type Obj = Record<string, unknown>;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
/** Sent to the authorizer whatever allowed_headers says (Envoy's always-included headers). */
const ALWAYS = new Set([
  'host',
  ':authority',
  ':method',
  ':path',
  'content-length',
  'authorization',
]);
/** Never copied from the authorizer's answer (hop-by-hop, or about the answer itself). */
const NOT_COPIED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
  'host',
]);

interface CheckResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

class CheckError extends Error {}

const onAllow = new WeakMap<HttpStream, [string, string][]>();

function headerPairs(h: IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

export class ExtAuthzFilter implements HttpFilter {
  readonly stats: FilterStats;

  constructor(
    readonly config: ExtAuthzConfig,
    statPrefix: string,
  ) {
    this.stats = new FilterStats(`${statPrefix}.ext_authz.`);
  }

  private enabled(stream: HttpStream): boolean {
    const e = this.config.enabledBy;
    if (!e) return true;
    let v: unknown = dynamicMetadata(stream, e.filter);
    for (const k of e.path) {
      if (v === null || typeof v !== 'object') return false;
      v = (v as Record<string, unknown>)[k];
    }
    return e.value(v);
  }

  private checkHeaders(stream: HttpStream): Record<string, string> {
    const c = this.config;
    const out: Record<string, string> = {};
    const raw = stream.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (name.startsWith(':') || NOT_COPIED.has(name)) continue;
      if (c.allowedHeaders && !ALWAYS.has(name) && !c.allowedHeaders(name)) continue;
      const v = raw[i + 1] as string;
      out[name] = out[name] === undefined ? v : `${out[name]}, ${v}`;
    }
    for (const [k, v] of stream.addedHeaders)
      if (!c.allowedHeaders || c.allowedHeaders(k)) out[k] = v;
    for (const [k, v] of c.headersToAdd) out[k] = v;
    out['host'] = stream.view.authority;
    out['content-length'] = '0';
    return out;
  }

  private check(stream: HttpStream): Promise<CheckResult> {
    const c = this.config;
    const host = authzClusters()?.get(c.cluster)?.chooseHost({ authority: c.authority });
    if (!host) return Promise.reject(new CheckError(`no host in cluster ${c.cluster}`));
    const v = stream.view;
    const path = c.pathPrefix + v.path + (v.query ? `?${v.query}` : '');
    return new Promise<CheckResult>((resolve, reject) => {
      // Envoy's server_uri.timeout bounds the whole check, not only a silence of the authorizer.
      const timer = setTimeout(() => {
        reject(new CheckError('timed out'));
        req.destroy();
      }, c.timeoutMs);
      const ok = (r: CheckResult) => {
        clearTimeout(timer);
        resolve(r);
      };
      const fail = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      const req = http.request(
        {
          agent,
          host: host.address,
          port: host.port,
          method: v.method,
          path,
          headers: this.checkHeaders(stream),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.once('end', () =>
            ok({
              status: res.statusCode ?? 500,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          res.once('error', fail);
        },
      );
      req.once('error', fail);
      req.end();
    });
  }

  async onRequest(stream: HttpStream): Promise<LocalReply | undefined> {
    if (!this.enabled(stream)) {
      this.stats.add('disabled');
      return undefined;
    }
    const c = this.config;
    let result: CheckResult | undefined;
    try {
      result = await this.check(stream);
    } catch {
      result = undefined;
    }
    // Envoy (ext_authz_http_impl.cc toResponse): a 5xx from the authorizer is an error, not a
    // denial: failure_mode_allow decides, and the client gets status_on_error.
    if (result === undefined || result.status >= 500) {
      this.stats.add('error');
      if (c.failureModeAllow) {
        this.stats.add('failure_mode_allowed');
        return undefined;
      }
      stream.responseFlags.add('UAEX');
      stream.responseCodeDetails = 'ext_authz_error';
      return { status: c.statusOnError, body: '' };
    }
    const pairs = headerPairs(result.headers).filter(([k]) => !NOT_COPIED.has(k));
    if (result.status === 200) {
      this.stats.add('ok');
      for (const [k, value] of pairs) {
        if (!c.allowedUpstreamHeaders(k)) continue;
        removeRequestHeaders(stream.req, k);
        addRequestHeader(stream.req, k, value);
      }
      const back = pairs.filter(([k]) => c.allowedClientHeadersOnSuccess(k));
      if (back.length) onAllow.set(stream, back);
      return undefined;
    }
    this.stats.add('denied');
    stream.responseFlags.add('UAEX');
    stream.responseCodeDetails = 'ext_authz_denied';
    const headers: Record<string, string | string[]> = {};
    for (const [k, value] of pairs) {
      if (c.allowedClientHeaders && !c.allowedClientHeaders(k) && k !== 'content-type') continue;
      const prior = headers[k];
      headers[k] =
        prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
    }
    // Envoy forwards the authorizer's status, unless it is not an error status (then 403).
    const status = result.status >= 400 ? result.status : 403;
    return { status, body: result.body, headers };
  }

  onResponseHeaders(stream: HttpStream, _status: number, headers: HeaderMap): void {
    for (const [k, v] of onAllow.get(stream) ?? []) headers.set(k, v);
  }
}

export function makeExtAuthzFilter(typed: Obj, ctx: FilterContext): HttpFilterFactory {
  return {
    name: ctx.name,
    terminal: false,
    filter: new ExtAuthzFilter(compileExtAuthz(typed), ctx.statPrefix),
  };
}
