// The one place where errors become HTTP responses: status, body, response flag and details. A
// gRPC request's local reply is a gRPC status instead, as Envoy answers it: HTTP 200, a
// trailers-only response with grpc-status (the reply's, else mapped from the HTTP status) and
// grpc-message (the body).
import type { Http2ServerResponse } from 'node:http2';
import type { HttpStream } from './stream.js';
import { ProxyError } from '../errors.js';
import type { LocalReply } from '../filters/http/types.js';
import { ObjectHeaderMap } from '../filters/http/header-map.js';

export function sendLocalReply(
  stream: HttpStream,
  reply: LocalReply | ProxyError | Error,
  serverName: string,
): void {
  let status: number;
  let body: string;
  let headers: LocalReply['headers'] = {};
  let grpcStatus: number | undefined;
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
    grpcStatus = reply.grpcStatus;
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
  if (isGrpcRequest(stream)) {
    sendGrpcReply(stream, out, grpcStatus ?? httpToGrpcStatus(status), body);
    return;
  }
  // Route header mutations and filters (CORS) adjust local replies too, as Envoy's encoders do.
  stream.finalizeResponseHeaders?.(status, new ObjectHeaderMap(out));
  if (body) {
    out['content-type'] ??= 'text/plain';
    out['content-length'] = Buffer.byteLength(body);
  } else {
    out['content-length'] = 0;
  }
  stream.responseHeaders = new ObjectHeaderMap(out);
  res.writeHead(status, out);
  res.end(stream.view.method === 'HEAD' ? undefined : body);
}

/** Envoy's Grpc::Common::isGrpcRequestHeaders: content-type application/grpc or application/grpc+... */
export function isGrpcRequest(stream: HttpStream): boolean {
  const ct = stream.req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  const rest = ct.slice('application/grpc'.length);
  return rest === '' || rest.startsWith('+') || rest.startsWith(';');
}

/** The gRPC status of an HTTP status (grpc's http-grpc-status-mapping.md, as Envoy maps it). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** grpc-message's percent-encoding: bytes outside printable ASCII, and '%' itself. */
export function percentEncodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function sendGrpcReply(
  stream: HttpStream,
  base: Record<string, string | number | string[]>,
  grpcStatus: number,
  body: string,
): void {
  const out: Record<string, string | number | string[]> = {
    ...base,
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatus),
  };
  // Envoy drops a trailing newline (its formatters add one) before using the body.
  const message = body.endsWith('\n') ? body.slice(0, -1) : body;
  if (message) out['grpc-message'] = percentEncodeGrpcMessage(message);
  delete out['content-length'];
  stream.finalizeResponseHeaders?.(200, new ObjectHeaderMap(out));
  const res = stream.res;
  if (stream.req.httpVersionMajor === 2) {
    // One HEADERS frame with END_STREAM: a trailers-only response, which gRPC clients read as
    // the call's status.
    res.statusCode = 200;
    (res as unknown as Http2ServerResponse).stream.respond(
      { ...out, ':status': 200 },
      { endStream: true },
    );
    return;
  }
  out['content-length'] = 0;
  res.writeHead(200, out);
  res.end();
}
