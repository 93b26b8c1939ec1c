// What route lookup costs the outbound sidecar per request, timed in the bench process on the
// sidecar's own route configuration (from its admin /config_dump) and the benchmark's request:
// a figure free of the machine's noise, to set against the sidecar's CPU per request.
import { RouteTable } from '../src/proxy/routes/route-table.js';
import type { RequestView } from '../src/proxy/routes/matchers.js';
import { median } from './measure.js';
import { SERVICE_HOST, SERVICE_PORT } from './targets/types.js';

type Obj = Record<string, unknown>;

export interface RouteCost {
  /** Routes tried for the benchmark's request, the matching one included. */
  readonly routesTried: number;
  /** Median over batches of one lookup, nanoseconds. */
  readonly nsPerLookup: number;
}

/** The request the load generators send, as routing sees it. */
export const BENCH_REQUEST: RequestView = {
  method: 'GET',
  scheme: 'http',
  authority: `${SERVICE_HOST}:${SERVICE_PORT}`,
  path: '/',
  query: '',
  headers: { host: `${SERVICE_HOST}:${SERVICE_PORT}`, 'user-agent': 'wrk', accept: '*/*' },
};

/** Route configurations in an admin /config_dump. */
export function routeConfigs(dump: Obj): Obj[] {
  const configs = (dump['configs'] as Obj[] | undefined) ?? [];
  const routes = configs.find((c) => String(c['@type']).endsWith('RoutesConfigDump'));
  return ((routes?.['dynamic_route_configs'] as Obj[] | undefined) ?? []).map((d) => {
    const { ['@type']: _type, ...config } = d['route_config'] as Obj;
    return config;
  });
}

/** Times lookups of `req` in `table`: the median of several batches, in ns per lookup. */
export function timeLookups(table: RouteTable, req: RequestView, batches = 7, n = 20_000): number {
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) table.route(req);
    per.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(per)!;
}

/**
 * The cost for the route configuration that routes the benchmark's request after trying the
 * most routes (the one the outbound listener uses); undefined when none routes it.
 */
export function routeCost(
  configs: readonly Obj[],
  req: RequestView = BENCH_REQUEST,
): RouteCost | undefined {
  let best: { table: RouteTable; tried: number } | undefined;
  for (const config of configs) {
    let table: RouteTable;
    try {
      table = RouteTable.compile(config);
    } catch {
      continue;
    }
    const hit = table.route(req);
    if (!hit) continue;
    const tried = hit.vhost.routes.indexOf(hit.route) + 1;
    if (!best || tried > best.tried) best = { table, tried };
  }
  if (!best) return undefined;
  timeLookups(best.table, req, 2); // warm up
  return { routesTried: best.tried, nsPerLookup: timeLookups(best.table, req) };
}

/** Fetches the sidecar's /config_dump and times its route lookup. */
export async function fetchRouteCost(adminUrl: string): Promise<RouteCost | undefined> {
  const res = await fetch(`${adminUrl}/config_dump`);
  if (!res.ok) return undefined;
  return routeCost(routeConfigs((await res.json()) as Obj));
}
