// Test helpers for HTTP filters: a stream routed by a real route table, with a request that has
// only what filters read (headers, method, a response that can close).
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStream } from '../../http/stream.js';
import type { RequestView } from '../../routes/matchers.js';
import { RouteTable } from '../../routes/route-table.js';

type Obj = Record<string, unknown>;

/** A stream for `view`, routed through a one-host route configuration made of `routes`. */
export function routedStream(
  routes: Obj[],
  view: Partial<RequestView> & { headers?: Record<string, string> },
  vhost: Obj = {},
): HttpStream {
  const table = RouteTable.compile({
    name: 't',
    virtual_hosts: [{ name: 'v', domains: ['*'], routes, ...vhost }],
  });
  const full: RequestView = {
    method: 'GET',
    scheme: 'http',
    authority: 'svc',
    path: '/',
    query: '',
    ...view,
    headers: view.headers ?? {},
  };
  const req = { headers: full.headers, rawHeaders: [], socket: {} } as unknown as IncomingMessage;
  const res = new EventEmitter() as unknown as ServerResponse;
  const stream = new HttpStream(req, res, full, [], 'l');
  const hit = table.route(full);
  if (hit) {
    stream.route = hit.route;
    stream.virtualHost = hit.vhost;
    if (hit.route.action.kind === 'forward')
      stream.clusterChoice = hit.route.action.chooseCluster();
  }
  return stream;
}
