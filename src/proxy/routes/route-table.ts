// A RouteConfiguration compiled for lookup: virtual hosts by domain (Envoy's order: exact,
// then `*.suffix` longest first, then `prefix.*` longest first, then `*`), routes in order.
import { ConfigError, inField } from '../config-error.js';
import type { Predicate, RequestView } from './matchers.js';
import { compileRouteMatch } from './matchers.js';
import type { RouteAction } from './route-action.js';
import { compileRouteAction } from './route-action.js';

type Obj = Record<string, unknown>;

export interface CompiledRoute {
  readonly name: string;
  readonly matches: Predicate<RequestView>;
  readonly action: RouteAction;
  /** Envoy's route metadata (Istio puts the VirtualService's path under `istio.config`). */
  readonly metadata: Readonly<Obj>;
}

export interface VirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
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
  ) {}

  /** Compiles a RouteConfiguration; throws ConfigError naming the field. */
  static compile(config: Obj): RouteTable {
    const table = new RouteTable(
      String(config['name'] ?? ''),
      config['ignore_port_in_host_matching'] === true,
    );
    const vhosts = (config['virtual_hosts'] as Obj[] | undefined) ?? [];
    vhosts.forEach((vh, i) => inField(`virtual_hosts[${i}]`, () => table.addVirtualHost(vh)));
    table.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    table.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    return table;
  }

  private addVirtualHost(vh: Obj): void {
    const name = String(vh['name'] ?? '');
    const routes = ((vh['routes'] as Obj[] | undefined) ?? []).map((r, i) =>
      inField(`routes[${i}]`, () => compileRoute(r)),
    );
    const vhost: VirtualHost = { name, routes };
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
    let host = authority.toLowerCase();
    if (this.ignorePort) host = stripPort(host);
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
    for (const route of vhost.routes) if (route.matches(req)) return { vhost, route };
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

function compileRoute(r: Obj): CompiledRoute {
  const match = r['match'] as Obj | undefined;
  if (!match) throw new ConfigError('match', 'a route needs a match');
  return {
    name: String(r['name'] ?? ''),
    matches: compileRouteMatch(match, 'match'),
    action: compileRouteAction(r),
    metadata: (r['metadata'] as Obj | undefined) ?? {},
  };
}
