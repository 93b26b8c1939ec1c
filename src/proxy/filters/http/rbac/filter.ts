// Envoy's HTTP RBAC filter per request (rbac_filter.cc): shadow rules first, recorded in dynamic
// metadata (`<prefix>shadow_effective_policy_id`, `<prefix>shadow_engine_result`) for ext_authz
// and logs; then the enforced rules: a denial answers 403 `RBAC: access denied` with response code
// details `rbac_access_denied_matched_policy[<policy or none>]`; LOG only records.
import type { HttpStream } from '../../../http/stream.js';
import type { RbacEngine } from '../../../authz/matcher.js';
import { evaluate } from '../../../authz/matcher.js';
import {
  authorizationPaths,
  decideForEveryPath,
  withViewPath,
} from '../../../http/path-for-authz.js';
import { setDynamicMetadata } from '../../../authz/metadata.js';
import { HttpAuthzRequest } from '../../../authz/request.js';
import type { FilterContext } from '../filter-stats.js';
import { FilterStats } from '../filter-stats.js';
import type { HttpFilter, HttpFilterFactory, LocalReply } from '../types.js';
import type { HttpRbacConfig } from './config.js';
import { compileHttpRbac } from './config.js';

type Obj = Record<string, unknown>;

export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';

export class HttpRbacFilter implements HttpFilter {
  readonly stats: FilterStats;

  constructor(
    readonly config: HttpRbacConfig,
    statPrefix: string,
    /** The connection manager's xff_num_trusted_hops (remote_ip). */
    private readonly trustedHops = 0,
  ) {
    this.stats = new FilterStats(`${statPrefix}.rbac.`);
  }

  onRequest(stream: HttpStream): LocalReply | undefined {
    const c = this.config;
    const r = new HttpAuthzRequest(stream, this.trustedHops);
    // Every reading of the path must pass (src/proxy/http/path-for-authz.ts): a DENY on /admin
    // also holds for `/admin;x` or `//admin` that a lax app server would serve as /admin.
    // The path's readings once per request, whatever the number of engines.
    let readings: readonly string[] | undefined;
    const judge = (e: RbacEngine) =>
      e.action === 'LOG'
        ? evaluate(e, r)
        : decideForEveryPath((readings ??= authorizationPaths(stream.view.path)), (path) =>
            evaluate(e, withViewPath(r, path)),
          );
    if (c.shadow) {
      const res = judge(c.shadow);
      const p = c.shadowStatPrefix;
      this.stats.add(`${p}shadow_${res.allowed ? 'allowed' : 'denied'}`);
      setDynamicMetadata(stream, RBAC_FILTER_NAME, {
        ...(res.policy !== undefined ? { [`${p}shadow_effective_policy_id`]: res.policy } : {}),
        [`${p}shadow_engine_result`]: res.allowed ? 'allowed' : 'denied',
      });
    }
    if (!c.rules) return undefined;
    const res = judge(c.rules);
    const p = c.rulesStatPrefix;
    if (c.rules.action === 'LOG') {
      this.stats.add(`${p}${res.policy !== undefined ? 'logged' : 'not_logged'}`);
      setDynamicMetadata(stream, RBAC_FILTER_NAME, { access_log_hint: res.policy !== undefined });
      return undefined;
    }
    if (res.allowed) {
      this.stats.add(`${p}allowed`);
      return undefined;
    }
    this.stats.add(`${p}denied`);
    stream.responseCodeDetails = `rbac_access_denied_matched_policy[${res.policy ?? 'none'}]`;
    return { status: 403, body: 'RBAC: access denied', headers: { 'content-type': 'text/plain' } };
  }
}

export function makeRbacFilter(typed: Obj, ctx: FilterContext): HttpFilterFactory {
  return {
    name: ctx.name,
    terminal: false,
    filter: new HttpRbacFilter(compileHttpRbac(typed), ctx.statPrefix, ctx.xffNumTrustedHops ?? 0),
  };
}
