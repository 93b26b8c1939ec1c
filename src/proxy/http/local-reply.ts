// The one place where errors become HTTP responses: status, body, response flag and details.
import type { HttpStream } from './stream.js';
import { ProxyError } from '../errors.js';
import type { LocalReply } from '../filters/http/types.js';

export function sendLocalReply(
  stream: HttpStream,
  reply: LocalReply | ProxyError | Error,
  serverName: string,
): void {
  let status: number;
  let body: string;
  let headers: LocalReply['headers'] = {};
  if (reply instanceof ProxyError) {
    status = reply.status;
    body = reply.body;
    stream.responseFlags.add(reply.flag);
    stream.responseCodeDetails = reply.details;
  } else if (reply instanceof Error) {
    // A bug, not a condition: answer 500 rather than leave the client hanging.
    status = 500;
    body = 'internal proxy error';
    stream.responseCodeDetails = 'internal_error';
  } else {
    status = reply.status;
    body = reply.body;
    headers = reply.headers ?? {};
    stream.responseCodeDetails ||= 'direct_response';
  }
  const res = stream.res;
  if (res.headersSent || stream.responseStarted) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const out: Record<string, string | number | string[]> = {
    server: serverName,
    ...(headers as Record<string, string>),
  };
  if (body) {
    out['content-type'] ??= 'text/plain';
    out['content-length'] = Buffer.byteLength(body);
  } else {
    out['content-length'] = 0;
  }
  res.writeHead(status, out);
  res.end(stream.view.method === 'HEAD' ? undefined : body);
}
