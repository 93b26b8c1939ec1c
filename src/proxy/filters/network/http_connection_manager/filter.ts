// The HTTP connection manager per request: parse the target, find the route, run the HTTP
// filters, hand over to the router; every failure becomes a local reply in one place.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStream } from '../../../http/stream.js';
import { sendLocalReply } from '../../../http/local-reply.js';
import { badRequest, noRoute, ProxyError } from '../../../errors.js';
import type { RequestView } from '../../../routes/matchers.js';
import type { RouteStore } from '../../../routes/route-store.js';
import type { RouteTable } from '../../../routes/route-table.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import { Router } from '../../http/router/filter.js';
import type { LocalReply } from '../../http/types.js';
import type { HcmConfig } from './config.js';
import { normalizePath, parseRequestTarget } from './path.js';
import type { ListenerStats } from '../../../listeners/listener-stats.js';

export interface HcmDeps {
  readonly routes: RouteStore;
  readonly clusters: ClusterManager;
  readonly stats: ListenerStats;
  readonly log: (line: string) => void;
}

export class HttpConnectionManager {
  private readonly router: Router;

  constructor(
    readonly config: HcmConfig,
    private readonly deps: HcmDeps,
    private readonly listenerName: string,
  ) {
    this.router = new Router(config.router, deps.clusters, config.serverName);
  }

  private routeTable(): RouteTable | undefined {
    const r = this.config.routes;
    return r.kind === 'inline' ? r.table : this.deps.routes.get(r.name);
  }

  private view(req: IncomingMessage): RequestView | ProxyError {
    const target = parseRequestTarget(req.url ?? '');
    if (!target) return badRequest('invalid_url');
    if (target.authority !== undefined && !this.config.allowAbsoluteUrl)
      return badRequest('absolute_path_rejected');
    // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
    const authority = target.authority ?? req.headers.host ?? '';
    if (!authority) return badRequest('missing_host_header');
    const path =
      this.config.normalizePath || this.config.mergeSlashes
        ? normalizePath(target.path, this.config.mergeSlashes)
        : target.path;
    return {
      method: req.method ?? 'GET',
      scheme: target.scheme ?? 'http',
      authority,
      path,
      query: target.query,
      headers: req.headers,
    };
  }

  private addedHeaders(req: IncomingMessage): [string, string][] {
    const added: [string, string][] = [];
    if (this.config.generateRequestId && !req.headers['x-request-id'])
      added.push(['x-request-id', randomUUID()]);
    if (!req.headers['x-forwarded-proto']) added.push(['x-forwarded-proto', 'http']);
    if (this.config.useRemoteAddress) {
      const remote = req.socket.remoteAddress ?? '';
      const prior = req.headers['x-forwarded-for'];
      if (remote) added.push(['x-forwarded-for', prior ? `${String(prior)}, ${remote}` : remote]);
    }
    return added;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const stats = this.deps.stats;
    stats.downstream_rq_total++;
    stats.downstream_rq_active++;
    const view = this.view(req);
    const stream =
      view instanceof ProxyError
        ? new HttpStream(req, res, fallbackView(req), [], this.listenerName)
        : new HttpStream(req, res, view, this.addedHeaders(req), this.listenerName);
    // One listener per request: stats, and an upstream attempt to cancel if the client left.
    res.once('close', () => {
      stats.downstream_rq_active--;
      stats.recordStatus(res.statusCode);
      if (!res.writableFinished) {
        stream.responseFlags.add('DC');
        stream.abortUpstream?.();
      }
    });
    if (view instanceof ProxyError) {
      this.reply(stream, view);
      return;
    }
    void this.run(stream).catch((e: unknown) => this.reply(stream, e as Error));
  }

  private async run(stream: HttpStream): Promise<void> {
    const table = this.routeTable();
    const match = table?.route(stream.view);
    if (!match) throw noRoute();
    stream.route = match.route;
    stream.virtualHost = match.vhost;
    for (const f of this.config.filters) {
      if (!f.filter.onRequest) continue;
      const result = f.filter.onRequest(stream);
      const reply = result instanceof Promise ? await result : result;
      if (reply) {
        this.reply(stream, reply);
        return;
      }
    }
    const action = match.route.action;
    switch (action.kind) {
      case 'direct':
        this.reply(stream, { status: action.status, body: action.body });
        return;
      case 'redirect':
        this.reply(stream, {
          status: action.status,
          body: '',
          headers: { location: redirectLocation(stream.view, action) },
        });
        return;
      case 'forward':
        await this.router.forward(stream, action);
        return;
    }
  }

  private reply(stream: HttpStream, reply: LocalReply | Error): void {
    if (!(reply instanceof ProxyError) && reply instanceof Error)
      this.deps.log(`internal error: ${reply.stack ?? reply.message}`);
    // Drain an unread request body so the connection can be reused.
    if (!stream.req.complete) stream.req.resume();
    sendLocalReply(stream, reply, this.config.serverName);
  }
}

function fallbackView(req: IncomingMessage): RequestView {
  return {
    method: req.method ?? 'GET',
    scheme: 'http',
    authority: '',
    path: '/',
    query: '',
    headers: req.headers,
  };
}

function redirectLocation(
  view: RequestView,
  r: {
    scheme?: string | undefined;
    host?: string | undefined;
    port?: number | undefined;
    path?: string | undefined;
  },
): string {
  const scheme = r.scheme ?? view.scheme;
  let host = r.host ?? view.authority.replace(/:\d+$/, '');
  const currentPort = /:(\d+)$/.exec(view.authority)?.[1];
  const port = r.port ?? (r.host === undefined && currentPort ? Number(currentPort) : undefined);
  const defaultPort = scheme === 'https' ? 443 : 80;
  if (port !== undefined && port !== defaultPort) host = `${host}:${port}`;
  const path = r.path ?? view.path;
  return `${scheme}://${host}${path}${view.query && r.path === undefined ? `?${view.query}` : ''}`;
}
