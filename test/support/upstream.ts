// What the upstream resilience tests share: an app a test can tell to fail or hold requests
// (BACKEND_APP, run as a Workload behind its sidecar), the same as an in-process server for
// WorkloadEntry endpoints (TestServer: it also sees the connections the sidecar makes), and
// readers for a proxy's admin pages.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getJson } from './skiff.js';

/**
 * A Workload app: answers `<SKIFF_INSTANCE>` on PORT; `/__control/...` (reached directly on the
 * app's port, not through the mesh) sets its mode: `?status=N` answers N, `?mode=hold` keeps
 * requests until `/__control/release`, `?mode=ok` is back to normal; `/__control/stats` counts.
 */
export const BACKEND_APP = `
import http from 'node:http';
const me = process.env.SKIFF_INSTANCE;
let status = 200, hold = false, requests = 0;
const held = [];
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/__control/')) {
    const what = url.pathname.slice(11);
    if (what === 'mode') {
      if (url.searchParams.has('status')) status = Number(url.searchParams.get('status'));
      if (url.searchParams.get('mode') === 'hold') hold = true;
      if (url.searchParams.get('mode') === 'ok') { hold = false; status = 200; }
    }
    if (what === 'release') for (const r of held.splice(0)) r.end(me);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ requests, held: held.length, status, hold }));
    return;
  }
  requests++;
  res.setHeader('content-type', 'text/plain');
  if (hold) { held.push(res); return; }
  res.statusCode = status;
  res.end(status === 200 ? me : me + ' ' + status);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export interface AppStats {
  readonly requests: number;
  readonly held: number;
}

/** Calls a BACKEND_APP's control API at its app port. */
export function control(appPort: number, what: string): Promise<AppStats> {
  return getJson<AppStats>(`http://127.0.0.1:${appPort}/__control/${what}`);
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The sidecar's side of the connection (one port per upstream connection). */
  readonly remotePort: number;
  readonly httpVersion: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | void;

/**
 * An HTTP/1.1 server in the test process, a WorkloadEntry's endpoint: answers its name, or what
 * `handle` decides (return true when it took the request); holds requests on `/hold` until
 * release(); records requests and the connections it was given.
 */
export class TestServer {
  readonly server: http.Server;
  readonly seen: SeenRequest[] = [];
  readonly held: http.ServerResponse[] = [];
  /** Every connection accepted, with whether it is closed yet. */
  readonly connections: { remotePort: number; closed: boolean; socket: Socket }[] = [];
  handle: Handler | undefined;
  status = 200;

  constructor(readonly name: string) {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      const entry = { remotePort: socket.remotePort ?? 0, closed: false, socket };
      this.connections.push(entry);
      socket.once('close', () => (entry.closed = true));
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      remotePort: req.socket.remotePort ?? 0,
      httpVersion: req.httpVersion,
    });
    if (this.handle?.(req, res)) return;
    if (req.url?.startsWith('/hold')) {
      this.held.push(res);
      return;
    }
    res.statusCode = this.status;
    res.end(this.name);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Answers every held request (200, the server's name). */
  release(count = this.held.length): void {
    for (const res of this.held.splice(0, count)) res.end(this.name);
  }

  get openConnections(): number {
    return this.connections.filter((c) => !c.closed).length;
  }

  close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface Response {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  /** A fresh connection from this address (source IP hashing). */
  readonly localAddress?: string;
  /** A fresh connection rather than the shared keep-alive one. */
  readonly fresh?: boolean;
  readonly method?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** A request through a sidecar's HTTP proxy listener (forward-proxy form), as an app makes it. */
export function send(proxyPort: number, url: string, o: RequestOptions = {}): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        path: url,
        method: o.method ?? 'GET',
        agent: o.fresh || o.localAddress ? false : agent,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        headers: { host: target.host, ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)));
    req.end();
  });
}

export function closeUpstreamAgent(): void {
  agent.destroy();
}

export interface HostStatus {
  readonly address: { socket_address: { address: string; port_value: number } };
  readonly stats: { name: string; value: number }[];
  readonly health_status: { failed_outlier_check?: boolean };
  readonly priority: number;
  readonly locality: { region: string; zone: string; sub_zone: string };
  readonly outlier?: Record<string, number>;
}

export interface ClusterStatus {
  readonly name: string;
  readonly host_statuses: HostStatus[];
  readonly circuit_breakers: { state: Record<string, number> };
  readonly priority_loads: { priority: number; load: number; panic: boolean }[];
}

/** One cluster from a proxy's /clusters?format=json. */
export async function clusterStatus(adminPort: number, name: string): Promise<ClusterStatus> {
  const all = await getJson<{ cluster_statuses: ClusterStatus[] }>(
    `http://127.0.0.1:${adminPort}/clusters?format=json`,
  );
  const c = all.cluster_statuses.find((s) => s.name === name);
  if (!c) throw new Error(`no cluster ${name} on admin port ${adminPort}`);
  return c;
}

export function hostPort(h: HostStatus): number {
  return h.address.socket_address.port_value;
}

/** A proxy's /stats as a map (counters and gauges by name). */
export async function stats(adminPort: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i > 0) out.set(line.slice(0, i), Number(line.slice(i + 2)));
  }
  return out;
}

/** A cluster's stat, `cluster.<name>.<stat>`, 0 when absent. */
export async function clusterStat(
  adminPort: number,
  cluster: string,
  stat: string,
): Promise<number> {
  return (await stats(adminPort)).get(`cluster.${cluster}.${stat}`) ?? 0;
}

/** The resource of one cluster in a proxy's config dump. */
export async function dumpedCluster(
  adminPort: number,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const dump = await getJson<{
    configs: { dynamic_active_clusters?: { cluster: Record<string, unknown> }[] }[];
  }>(`http://127.0.0.1:${adminPort}/config_dump`);
  for (const c of dump.configs)
    for (const entry of c.dynamic_active_clusters ?? [])
      if (entry.cluster['name'] === name) return entry.cluster;
  return undefined;
}

export const outboundCluster = (service: string, port: number, subset = '') =>
  `outbound|${port}|${subset}|${service}.default.svc.cluster.local`;

/**
 * A loopback port that never completes a TCP handshake: a listener in a worker thread whose
 * event loop is blocked (so nothing accepts), its one-slot accept queue filled first. A
 * connection attempt to it hangs until the connect timeout.
 */
export async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const { Worker } = await import('node:worker_threads');
  const net = await import('node:net');
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       // Block this thread's event loop: no accept() from now on.
       Atomics.wait(new Int32Array(workerData), 0, 0);
       process.exit(0);
     });`,
    { eval: true, workerData: stop },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  // Fill the accept queue (backlog + 1 entries on Linux) so that later SYNs are dropped.
  const fillers = Array.from({ length: 3 }, () =>
    net.connect(port, '127.0.0.1').on('error', () => undefined),
  );
  // Two complete (the queue's two slots); the third hangs like every later attempt.
  let connected = 0;
  await new Promise<void>((resolve) => {
    for (const f of fillers) f.once('connect', () => ++connected === 2 && resolve());
  });
  return {
    port,
    async close() {
      for (const f of fillers) f.destroy();
      Atomics.store(new Int32Array(stop), 0, 1);
      Atomics.notify(new Int32Array(stop), 0);
      await worker.terminate();
    },
  };
}
