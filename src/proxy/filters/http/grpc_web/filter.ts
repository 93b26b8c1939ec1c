// Envoy's grpc_web filter (grpc_web_filter.cc): bridges a gRPC-Web client (a browser, over
// HTTP/1.1 or HTTP/2) to a gRPC server. A request whose content-type is one of gRPC-Web's goes
// upstream as gRPC (content-type application/grpc, te: trailers, no content-length, the text
// mode's base64 decoded); its response comes back as gRPC-Web: content-type
// application/grpc-web(-text)+proto and the trailers as a trailer frame at the end of the body,
// base64-encoded for a client that accepts the text mode. A trailers-only response keeps its
// grpc-status in the head. Any other request passes untouched. CORS (Access-Control-Expose-
// Headers for grpc-status...) is the cors filter's job, as in Envoy.
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { ProxyError } from '../../../errors.js';
import type { BodyTransform, Trailers } from '../../../http/body-transform.js';
import type { HttpStream } from '../../../http/stream.js';
import type { HeaderMap } from '../header-map.js';
import type { FilterContext } from '../filter-stats.js';
import type { HttpFilter, HttpFilterFactory } from '../types.js';
import type { Base64Failure } from './codec.js';
import { Base64Decoder, TextFrameEncoder, encodeTrailerFrame } from './codec.js';

export const GRPC_WEB_TYPE = 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb';

const GRPC_WEB = 'application/grpc-web';
const GRPC_WEB_PROTO = 'application/grpc-web+proto';
const GRPC_WEB_TEXT = 'application/grpc-web-text';
const GRPC_WEB_TEXT_PROTO = 'application/grpc-web-text+proto';

/** Envoy's local reply to a text-mode body that is not base64. */
export function badBase64(details: Base64Failure): ProxyError {
  // Envoy sets no response flag for it; skiff's local replies carry one: a protocol error.
  return new ProxyError(
    'ERR_GRPC_WEB_BASE64',
    400,
    'DPE',
    details,
    'Bad gRPC-web request, invalid base64 data.',
  );
}

/** The text mode's request body, decoded; fails with a 400 ProxyError on malformed base64. */
export function decodeTextBody(source: Readable): Readable {
  const decoder = new Base64Decoder();
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const out = decoder.push(chunk);
      if (typeof out === 'string') done(badBase64(out));
      else done(null, out.length ? out : undefined);
    },
    flush(done) {
      const failure = decoder.end();
      done(failure ? badBase64(failure) : null);
    },
  });
  source.on('error', (e) => t.destroy(e));
  // It may fail before the upstream attempt reads it (the connection is still being made): the
  // attempt looks at `errored` then; until then, no listener must not mean a crash.
  t.on('error', () => undefined);
  return source.pipe(t);
}

export class GrpcWebTransform implements BodyTransform {
  // Only what the mode needs: a binary body goes through untouched, with no per-chunk call.
  readonly requestBody: ((source: Readable) => Readable) | undefined;
  readonly responseData: ((chunk: Buffer) => Buffer) | undefined;
  private readonly encoder: TextFrameEncoder | undefined;
  private readonly textResponse: boolean;

  constructor(textRequest: boolean, textResponse: boolean) {
    this.textResponse = textResponse;
    this.requestBody = textRequest ? decodeTextBody : undefined;
    const encoder = textResponse ? new TextFrameEncoder() : undefined;
    this.encoder = encoder;
    this.responseData = encoder ? (chunk) => encoder.push(chunk) : undefined;
  }

  requestHeaders(h: HeaderMap): void {
    // content-length counts the HTTP/1.1 body, not the gRPC one (base64 shrinks it).
    h.remove('content-length');
    h.set('content-type', 'application/grpc');
    h.set('te', 'trailers');
    if (h.get('grpc-accept-encoding') === undefined) h.set('grpc-accept-encoding', 'identity');
  }

  responseHeaders(_status: number, h: HeaderMap): void {
    h.remove('content-length');
    h.set('content-type', this.textResponse ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO);
  }

  responseEnd(trailers: Trailers | undefined): { data?: Buffer; trailers?: Trailers } {
    const rest = this.encoder?.flush();
    // No trailers (an upstream that is not gRPC): nothing to frame, as Envoy.
    if (!trailers) return rest?.length ? { data: rest } : {};
    const frame = encodeTrailerFrame(trailers);
    const tail = this.textResponse ? Buffer.from(frame.toString('base64'), 'latin1') : frame;
    return { data: rest?.length ? Buffer.concat([rest, tail]) : tail };
  }
}

/** The content-type's gRPC-Web mode: undefined for anything else (Envoy compares exactly). */
function modeOf(contentType: string | undefined): 'binary' | 'text' | undefined {
  switch (contentType) {
    case GRPC_WEB:
    case GRPC_WEB_PROTO:
      return 'binary';
    case GRPC_WEB_TEXT:
    case GRPC_WEB_TEXT_PROTO:
      return 'text';
    default:
      return undefined;
  }
}

export class GrpcWebFilter implements HttpFilter {
  onRequest(stream: HttpStream): undefined {
    const mode = modeOf(stream.req.headers['content-type']);
    if (!mode) return undefined;
    const accept = stream.req.headers['accept'];
    const textResponse = accept === GRPC_WEB_TEXT || accept === GRPC_WEB_TEXT_PROTO;
    stream.addBodyTransform(new GrpcWebTransform(mode === 'text', textResponse));
    return undefined;
  }
}

export function makeGrpcWebFilter(
  _typed: Record<string, unknown>,
  ctx: FilterContext,
): HttpFilterFactory {
  return { name: ctx.name, terminal: false, filter: new GrpcWebFilter() };
}
