// Inbound side shared by the Bookinfo apps: listen on PORT, log each request, stop on SIGTERM.
import http from 'node:http';
import os from 'node:os';
import { closeConnections } from './http.js';

/** A request the app refuses; `status` is the HTTP status to answer with. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly code: 'BODY_TOO_LARGE',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => unknown;

/** Name of this instance, shown by reviews as `podname`: skiff sets SKIFF_INSTANCE (e.g.
 *  `reviews-v2-0`) where Kubernetes would set HOSTNAME to the pod's name. */
export function instanceName(): string {
  return process.env.SKIFF_INSTANCE ?? os.hostname();
}

/** Serve `handler` on 127.0.0.1:$PORT (9080 by default, as in the originals). */
export function serve(app: string, handler: Handler): http.Server {
  const port = Number(process.env.PORT ?? 9080);
  const server = http.createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => {
      const ms = (performance.now() - started).toFixed(1);
      console.log(
        `${new Date().toISOString()} ${app} ${req.method} ${req.url} ${res.statusCode} ${ms}ms`,
      );
    });
    // Absolute-form targets parse too, should a proxy pass one through.
    const url = new URL(req.url ?? '/', 'http://localhost');
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        const status = err instanceof RequestError ? err.status : 500;
        if (status === 500) console.error(`${app}: ${req.method} ${req.url}:`, err);
        if (!res.headersSent) sendJson(res, status, { error: errorText(err, status) });
        else res.destroy();
      });
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`${app} (${instanceName()}) listening on 127.0.0.1:${port}`);
  });
  const stop = (signal: string): void => {
    console.log(`${app}: ${signal}, shutting down`);
    // close() stops accepting and drops idle keep-alive connections; requests in flight finish.
    server.close(() => closeConnections());
    server.closeIdleConnections();
    // A client holding a request open must not keep us alive past the launcher's patience.
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function sendHtml(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

export function redirect(res: http.ServerResponse, location: string, cookie?: string): void {
  res.writeHead(302, { location, ...(cookie ? { 'set-cookie': cookie } : {}) });
  res.end();
}

/** Read a request body of at most `limit` bytes. */
export async function readBody(req: http.IncomingMessage, limit = 16 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError('BODY_TOO_LARGE', 413, `body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parse a numeric product id the way the originals accept it; NaN when it is not one. */
export function productId(text: string | undefined): number {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
}

function errorText(err: unknown, status: number): string {
  return status !== 500 && err instanceof Error ? err.message : 'internal error';
}
