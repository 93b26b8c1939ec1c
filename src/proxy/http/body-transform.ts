// The body and trailer side of the HTTP filter contract (Envoy's decodeData, encodeData and
// encodeTrailers), for the few filters that rewrite bodies (grpc_web). A filter that needs it
// sets one on the stream in onRequest (HttpStream.addBodyTransform); the router applies it where
// it reads the downstream body and writes the response. A stream without one costs the router a
// property check per response chunk and nothing else.
import type { Readable } from 'node:stream';
import type { HeaderMap } from '../filters/http/header-map.js';

export type Trailers = Readonly<Record<string, string | string[] | undefined>>;

export interface BodyTransform {
  /** Adjusts the upstream request's headers (after the route's mutations), once per request. */
  requestHeaders?(headers: HeaderMap): void;
  /**
   * The request body to send upstream, read from the downstream's. It may fail with a
   * ProxyError (a malformed body): the router answers with it while it still can.
   */
  requestBody?(source: Readable): Readable;
  /** Adjusts the response head, after the route's and the filters' adjustments. */
  responseHeaders?(status: number, headers: HeaderMap): void;
  /** One chunk of the response body → what goes downstream (empty while it buffers). */
  responseData?(chunk: Buffer): Buffer;
  /**
   * The end of a response that had a body, with the upstream's trailers: the last bytes to
   * send and the trailers left to send as trailers.
   */
  responseEnd?(trailers: Trailers | undefined): { data?: Buffer; trailers?: Trailers };
}

/**
 * Two transforms as one: `inner` belongs to the earlier filter, so it sees the request first
 * and the response last, as Envoy's decoder and encoder chains run.
 */
export function composeTransforms(inner: BodyTransform, outer: BodyTransform): BodyTransform {
  return {
    requestHeaders(h) {
      inner.requestHeaders?.(h);
      outer.requestHeaders?.(h);
    },
    requestBody(source) {
      const first = inner.requestBody ? inner.requestBody(source) : source;
      return outer.requestBody ? outer.requestBody(first) : first;
    },
    responseHeaders(status, h) {
      outer.responseHeaders?.(status, h);
      inner.responseHeaders?.(status, h);
    },
    responseData(chunk) {
      const first = outer.responseData ? outer.responseData(chunk) : chunk;
      return inner.responseData ? inner.responseData(first) : first;
    },
    responseEnd(trailers) {
      const o = outer.responseEnd ? outer.responseEnd(trailers) : { trailers };
      let data = o.data;
      if (data?.length && inner.responseData) data = inner.responseData(data);
      const i = inner.responseEnd ? inner.responseEnd(o.trailers) : { trailers: o.trailers };
      const parts = [data, i.data].filter((b): b is Buffer => b !== undefined && b.length > 0);
      return {
        ...(parts.length ? { data: parts.length === 1 ? parts[0] : Buffer.concat(parts) } : {}),
        ...(i.trailers ? { trailers: i.trailers } : {}),
      };
    },
  };
}
