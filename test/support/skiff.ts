// What integration tests share: how to start skiff (compiled when `npm test` built it, else from
// source), requests through a sidecar's HTTP proxy listener, and a mesh directory on disk.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { ProxyStatus } from '../../src/control-plane/server/ads-server.js';
import type { Mesh } from '../../src/launcher/mesh.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The command line that starts skiff: dist when built (as CI runs it), else tsx on the source;
 * SKIFF_FROM_SOURCE=1 forces the source (while dist/ may be stale).
 */
export const SKIFF: readonly string[] =
  !process.env['SKIFF_FROM_SOURCE'] && existsSync(path.join(ROOT, 'dist/src/cli/main.js'))
    ? [process.execPath, path.join(ROOT, 'bin/skiff.js')]
    : [
        process.execPath,
        '--import',
        import.meta.resolve('tsx'),
        path.join(ROOT, 'src/cli/main.ts'),
      ];

/** An app that answers `<VERSION> <SKIFF_INSTANCE>` on PORT, and exits on SIGTERM. */
export const VERSION_SERVER = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(process.env.VERSION + ' ' + process.env.SKIFF_INSTANCE);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** A process that just stays up (a client workload: only its sidecar matters). */
export const IDLE_APP = `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`;

/** Writes files (name → text) into a fresh temp directory and returns it. */
export function tempTree(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** GET `url` through an HTTP proxy listener (forward-proxy form), as an app with HTTP_PROXY does. */
export function viaProxy(
  proxyPort: number,
  url: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: proxyPort,
        path: url,
        agent,
        headers: { host: target.host, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
  });
}

/** GET a URL directly. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function closeAgent(): void {
  agent.destroy();
}

/**
 * All `expected` proxies SYNCED, as istioctl proxy-status means it: every type they subscribe to
 * acknowledged at the version last sent, no NACK pending.
 */
export function synced(statuses: ProxyStatus[], expected: number): boolean {
  if (statuses.length !== expected) return false;
  return statuses.every((p) => {
    const types = Object.values(p.types);
    return types.length > 0 && types.every((t) => t.ackedVersion === t.sentVersion && !t.nack);
  });
}

/** Waits until every proxy of `mesh` (its instances and the gateway) has ACKed what it was sent. */
export async function meshSynced(mesh: Mesh, timeoutMs: number): Promise<void> {
  const expected = mesh.record.instances.length + 1;
  const url = `http://${mesh.record.controlPlane.httpAddress}/debug/syncz`;
  await eventually(
    'every proxy synced',
    async () => synced(await getJson<ProxyStatus[]>(url), expected),
    timeoutMs,
  );
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface SendOptions {
  readonly method?: string;
  /** `host` here wins; else the absolute URL's host (a path alone sends none). */
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/**
 * A request to 127.0.0.1:`port` with `url` as its target: an absolute URL through a sidecar's
 * HTTP proxy listener (as HTTP_PROXY apps send it), or a path to a gateway.
 */
export function send(
  agent: http.Agent,
  port: number,
  url: string,
  opts: SendOptions = {},
): Promise<Answer> {
  const host = url.startsWith('/') ? undefined : new URL(url).host;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: url,
        method: opts.method ?? 'GET',
        agent,
        headers: { ...(host ? { host } : {}), ...opts.headers },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer from ${url} in 20 s`)));
    req.end(opts.body);
  });
}
