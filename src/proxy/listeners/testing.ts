// Helpers for the data plane's socket tests: static clusters, listeners built from plain Envoy
// objects, backends on port 0, and waiting on sockets without sleeps.
import net from 'node:net';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { compileCluster } from '../upstream/cluster-config.js';
import type { TcpSession } from '../filters/network/tcp_proxy/session.js';
import type { HttpStream } from '../http/stream.js';
import { RouteStore } from '../routes/route-store.js';
import { compileListener } from './listener-config.js';
import { ListenerManager } from './listener-manager.js';

type Obj = Record<string, unknown>;

export const TCP_PROXY_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** A tcp_proxy network filter over the given fields (stat_prefix defaults to "t"). */
export function tcpProxyFilter(fields: Obj): Obj {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 't', ...fields },
  };
}

/** A STATIC cluster over loopback ports (an internal listener's name for a string). */
export function staticCluster(name: string, endpoints: (number | string)[], extra: Obj = {}): Obj {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: {
              address:
                typeof e === 'string'
                  ? { envoy_internal_address: { server_listener_name: e } }
                  : { socket_address: { address: '127.0.0.1', port_value: e } },
            },
          })),
        },
      ],
    },
    ...extra,
  };
}

/** A listener manager with the given clusters; sessions of tcp_proxy are collected. */
export function dataPlane(clusters: Obj[]): {
  listeners: ListenerManager;
  clusters: ClusterManager;
  routes: RouteStore;
  sessions: TcpSession[];
  /** Every finished HTTP stream (flags and details are final). */
  streams: HttpStream[];
  /** Applies listeners and returns each one's bound port (internal ones: 0). */
  apply(ls: Obj[]): Promise<number[]>;
  close(): Promise<void>;
} {
  const cm = new ClusterManager();
  cm.applyClusters(clusters.map(compileCluster));
  const routes = new RouteStore();
  const sessions: TcpSession[] = [];
  const streams: HttpStream[] = [];
  const listeners = new ListenerManager({
    routes,
    clusters: cm,
    log: () => undefined,
    onTcpSessionEnd: (s) => sessions.push(s),
    onStreamComplete: (s) => streams.push(s),
  });
  return {
    listeners,
    clusters: cm,
    routes,
    sessions,
    streams,
    async apply(ls) {
      const errors = await listeners.apply(ls.map(compileListener));
      if (errors.length) throw new Error(errors.join('; '));
      const bound = listeners.listeners();
      return ls.map((l) => bound.find((b) => b.name === l['name'])?.port ?? 0);
    },
    async close() {
      await listeners.close(0);
      await cm.close();
    },
  };
}

/** A plain listener on 127.0.0.1:0 with these chains (and fields). */
export function socketListener(name: string, fields: Obj): Obj {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...fields,
  };
}

/** A TCP server on port 0; `onSocket` handles each connection. */
export async function backend(
  onSocket: (s: net.Socket) => void,
): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const b = await backend(() => undefined);
  b.close();
  return b.port;
}

/** Everything the peer sends until it closes its side. */
export function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.once('end', () => {
      socket.end();
      resolve(text);
    });
    socket.once('close', () => resolve(text));
    socket.once('error', () => resolve(text));
  });
}

/** Reads until `done(text)` holds. */
export function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer) => {
      text += c.toString('latin1');
      if (done(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
  });
}

export function connect(port: number): net.Socket {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => undefined);
  return s;
}

/** Resolves once `check()` holds (polling the event loop, no fixed sleeps), or throws at 10 s. */
export async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An HTTP connection manager with an inline route config, the router last. */
export function hcmFilter(routeConfig: Obj, extra: Obj = {}): Obj {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type':
        'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'h',
      route_config: routeConfig,
      http_filters: [
        {
          name: 'envoy.filters.http.router',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
          },
        },
      ],
      ...extra,
    },
  };
}

/** A route config whose one virtual host sends everything to `cluster` (no timeout). */
export function routeAllTo(cluster: string, route: Obj = {}): Obj {
  return {
    name: 'r',
    virtual_hosts: [
      {
        name: 'v',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '0s', ...route } }],
      },
    ],
  };
}

/** HttpProtocolOptions as Istio writes them, for a STATIC cluster's `extra`. */
export function upstreamHttp(kind: 'http2' | 'downstream'): Obj {
  const type = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
  return {
    typed_extension_protocol_options: {
      [type]: {
        '@type': `type.googleapis.com/${type}`,
        ...(kind === 'http2'
          ? { explicit_http_config: { http2_protocol_options: {} } }
          : {
              use_downstream_protocol_config: {
                http_protocol_options: {},
                http2_protocol_options: {},
              },
            }),
      },
    },
  };
}
