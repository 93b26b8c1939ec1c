// Outbound HTTP for the Bookinfo apps: through the sidecar named by HTTP_PROXY, or direct.
import http from 'node:http';

// Node's http client ignores HTTP_PROXY (Node 20), so we speak forward-proxy form ourselves:
// connect to the proxy and send the absolute URL as request-target (RFC 9112 §3.2.2), which is
// how skiff's sidecar learns the destination service and port.
const proxy = parseProxy(process.env.HTTP_PROXY ?? process.env.http_proxy);

// One pool for every upstream: through a sidecar they all share the one proxy address.
const agent = new http.Agent({ keepAlive: true });

/** Headers Istio's docs ask applications to copy from the inbound request to outbound calls
 *  (https://istio.io/latest/docs/tasks/observability/distributed-tracing/overview/), plus the
 *  application headers Bookinfo's own services forward. */
export const PROPAGATED_HEADERS = [
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'end-user',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
] as const;

export type UpstreamErrorCode =
  'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_BAD_BODY' | 'BAD_PROXY_URL';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamResponse {
  status: number;
  body: string;
}

export interface GetOptions {
  headers: Record<string, string>;
  /** Deadline for the whole exchange, connect to last byte. */
  timeoutMs: number;
}

/** The headers of `incoming` that must travel on to the next service. */
export function forwardHeaders(incoming: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROPAGATED_HEADERS) {
    const value = incoming[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** Base URL of a Bookinfo service, from the same env variables the originals read:
 *  `<NAME>_HOSTNAME`, `<NAME>_SERVICE_PORT` and `SERVICES_DOMAIN`. */
export function serviceUrl(name: 'details' | 'reviews' | 'ratings'): string {
  const env = process.env;
  const host = env[`${name.toUpperCase()}_HOSTNAME`] ?? name;
  const port = env[`${name.toUpperCase()}_SERVICE_PORT`] ?? '9080';
  const domain = env.SERVICES_DOMAIN ? `.${env.SERVICES_DOMAIN}` : '';
  return `http://${host}${domain}:${port}`;
}

/** GET `target`; resolves with any status, rejects with an UpstreamError when there is none. */
export function get(target: string, options: GetOptions): Promise<UpstreamResponse> {
  const url = new URL(target);
  const via = proxy ?? url;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (code: UpstreamErrorCode, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new UpstreamError(code, `GET ${target}: ${detail}`));
    };
    const req = http.request({
      agent,
      host: via.hostname,
      port: via.port || 80,
      method: 'GET',
      // Absolute-form to a proxy, origin-form to the server itself (RFC 9112 §3.2).
      path: proxy ? url.href : url.pathname + url.search,
      headers: { ...options.headers, host: url.host },
    });
    const timer = setTimeout(
      () => fail('UPSTREAM_TIMEOUT', `no response within ${options.timeoutMs}ms`),
      options.timeoutMs,
    );
    req.on('error', (err) => fail('UPSTREAM_UNREACHABLE', err.message));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => fail('UPSTREAM_UNREACHABLE', err.message));
      res.on('close', () => {
        if (!res.complete) fail('UPSTREAM_UNREACHABLE', 'connection closed mid-response');
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end();
  });
}

/** GET and parse JSON; a 200 with a body that is not JSON is an error, other statuses are not. */
export async function getJson(
  target: string,
  options: GetOptions,
): Promise<{ status: number; json: unknown }> {
  const res = await get(target, options);
  if (res.status !== 200) return { status: res.status, json: undefined };
  try {
    return { status: res.status, json: JSON.parse(res.body) as unknown };
  } catch {
    throw new UpstreamError('UPSTREAM_BAD_BODY', `GET ${target}: response is not JSON`);
  }
}

/** Drop pooled connections so the process can exit. */
export function closeConnections(): void {
  agent.destroy();
}

function parseProxy(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:') {
    throw new UpstreamError('BAD_PROXY_URL', `HTTP_PROXY must be an http:// URL, got ${value}`);
  }
  return url;
}
