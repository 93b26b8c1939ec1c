// A RouteConfiguration compiled for lookup: virtual hosts by domain (Envoy's order: exact,
// then `*.suffix` longest first, then `prefix.*` longest first, then `*`), routes in order.
import { ConfigError, inField } from '../config-error.js';
import type { PerFilterConfigs } from '../filters/http/per-route.js';
import { compilePerFilterConfigs } from '../filters/http/per-route.js';
import type { HeaderMutation } from './header-mutation.js';
import { requestMutation, responseMutation } from './header-mutation.js';
import type { Predicate, RequestView, RouteGuard } from './matchers.js';
import { compileGuardedRouteMatch, passesGuard } from './matchers.js';
import type { RouteAction } from './route-action.js';
import { compileRouteAction } from './route-action.js';

type Obj = Record<string, unknown>;

export interface CompiledRoute {
  readonly name: string;
  readonly matches: Predicate<RequestView>;
  /** Checked before `matches`: a request that fails it cannot match (see RouteGuard). */
  readonly guard: RouteGuard;
  readonly action: RouteAction;
  /** Envoy's route metadata (Istio puts the VirtualService's path under `istio.config`). */
  readonly metadata: Readonly<Obj>;
  /** Header mutations of the route, its virtual host and the route config, in Envoy's order. */
  readonly requestHeaders: readonly HeaderMutation[];
  readonly responseHeaders: readonly HeaderMutation[];
  readonly perFilter: PerFilterConfigs | undefined;
  /** Route.decorator: the operation names the request's span (Istio: `host:port/path`). */
  readonly decorator?: { readonly operation: string };
}

export interface VirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
  readonly perFilter: PerFilterConfigs | undefined;
}

/** The header mutations of the levels above a route (virtual host, route configuration). */
interface OuterHeaders {
  readonly request: readonly (HeaderMutation | undefined)[];
  readonly response: readonly (HeaderMutation | undefined)[];
  /** most_specific_header_mutations_wins: apply the route's last, not first. */
  readonly mostSpecificWins: boolean;
}

export class RouteTable {
  private readonly exact = new Map<string, VirtualHost>();
  private readonly suffixes: { suffix: string; vhost: VirtualHost }[] = [];
  private readonly prefixes: { prefix: string; vhost: VirtualHost }[] = [];
  private catchAll: VirtualHost | undefined;
  /** Every domain but `*`, to refuse duplicates. */
  private readonly domains = new Set<string>();

  private constructor(
    readonly name: string,
    private readonly ignorePort: boolean,
    private readonly global: OuterHeaders,
  ) {}

  /** Compiles a RouteConfiguration; throws ConfigError naming the field. */
  static compile(config: Obj): RouteTable {
    const table = new RouteTable(
      String(config['name'] ?? ''),
      config['ignore_port_in_host_matching'] === true,
      {
        request: [requestMutation(config)],
        response: [responseMutation(config)],
        mostSpecificWins: config['most_specific_header_mutations_wins'] === true,
      },
    );
    const vhosts = (config['virtual_hosts'] as Obj[] | undefined) ?? [];
    vhosts.forEach((vh, i) => inField(`virtual_hosts[${i}]`, () => table.addVirtualHost(vh)));
    table.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    table.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    return table;
  }

  private addVirtualHost(vh: Obj): void {
    const name = String(vh['name'] ?? '');
    const outer: OuterHeaders = {
      request: [requestMutation(vh), ...this.global.request],
      response: [responseMutation(vh), ...this.global.response],
      mostSpecificWins: this.global.mostSpecificWins,
    };
    const routes = ((vh['routes'] as Obj[] | undefined) ?? []).map((r, i) =>
      inField(`routes[${i}]`, () => compileRoute(r, outer)),
    );
    const vhost: VirtualHost = {
      name,
      routes,
      perFilter: compilePerFilterConfigs(vh['typed_per_filter_config']),
    };
    const domains = (vh['domains'] as string[] | undefined) ?? [];
    if (domains.length === 0)
      throw new ConfigError('domains', 'a virtual host needs at least one domain');
    for (const raw of domains) {
      const domain = raw.toLowerCase();
      if (domain === '*') {
        if (this.catchAll)
          throw new ConfigError('domains', 'only one virtual host may use the domain "*"');
        this.catchAll = vhost;
        continue;
      }
      // Envoy refuses any domain given twice, wildcards included ("Only unique values for
      // domains are permitted").
      if (this.domains.has(domain))
        throw new ConfigError(
          'domains',
          `domain ${JSON.stringify(domain)} is in two virtual hosts`,
        );
      this.domains.add(domain);
      if (domain.startsWith('*')) this.suffixes.push({ suffix: domain.slice(1), vhost });
      else if (domain.endsWith('*')) this.prefixes.push({ prefix: domain.slice(0, -1), vhost });
      else this.exact.set(domain, vhost);
    }
  }

  findVirtualHost(authority: string): VirtualHost | undefined {
    // Domains are stored lower-case: an authority found as it is was lower-case already, so
    // the usual request skips making a lower-case copy.
    const raw = this.ignorePort ? stripPort(authority) : authority;
    const asIs = this.exact.get(raw);
    if (asIs) return asIs;
    const host = raw.toLowerCase();
    const hit = this.exact.get(host);
    if (hit) return hit;
    for (const { suffix, vhost } of this.suffixes)
      if (host.endsWith(suffix) && host.length > suffix.length) return vhost;
    for (const { prefix, vhost } of this.prefixes)
      if (host.startsWith(prefix) && host.length > prefix.length) return vhost;
    return this.catchAll;
  }

  /** The first route of the matching virtual host whose match holds, or undefined (NR). */
  route(req: RequestView): { vhost: VirtualHost; route: CompiledRoute } | undefined {
    const vhost = this.findVirtualHost(req.authority);
    if (!vhost) return undefined;
    // A guard is plain data, checked without calling the route's predicate: most routes that
    // cannot match are passed over cheaply.
    const routes = vhost.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (passesGuard(route.guard, req) && route.matches(req)) return { vhost, route };
    }
    return undefined;
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Levels in the order they are applied: by default the route's first, so that the virtual
 * host's and then the route configuration's win where they overwrite (Envoy's header docs).
 */
function ordered(
  own: HeaderMutation | undefined,
  outer: readonly (HeaderMutation | undefined)[],
  mostSpecificWins: boolean,
): HeaderMutation[] {
  const levels = [own, ...outer].filter((m): m is HeaderMutation => m !== undefined);
  return mostSpecificWins ? levels.reverse() : levels;
}

function compileRoute(r: Obj, outer: OuterHeaders): CompiledRoute {
  const match = r['match'] as Obj | undefined;
  if (!match) throw new ConfigError('match', 'a route needs a match');
  const { matches, guard } = compileGuardedRouteMatch(match, 'match');
  return {
    name: String(r['name'] ?? ''),
    matches,
    guard,
    action: compileRouteAction(r),
    metadata: (r['metadata'] as Obj | undefined) ?? {},
    requestHeaders: ordered(requestMutation(r), outer.request, outer.mostSpecificWins),
    responseHeaders: ordered(responseMutation(r), outer.response, outer.mostSpecificWins),
    perFilter: compilePerFilterConfigs(r['typed_per_filter_config']),
    ...decoratorOf(r),
  };
}

function decoratorOf(r: Obj): { decorator?: { operation: string } } {
  const operation = (r['decorator'] as Obj | undefined)?.['operation'];
  return typeof operation === 'string' && operation ? { decorator: { operation } } : {};
}
