// gRPC-Web's wire format (grpc's PROTOCOL-WEB.md), as Envoy's grpc_web filter converts it:
// the text mode's base64 request body decoded in 4-character quanta however it is chunked, the
// response's trailers as a trailer frame (flag 0x80, big-endian length, `name:value\r\n`
// lines), and the text mode's response base64-encoded one whole gRPC frame at a time.
import type { Trailers } from '../../../http/body-transform.js';

/** The flag byte of a trailer frame. */
export const TRAILER_FLAG = 0x80;
const FRAME_HEADER = 5;

/** The trailers as one gRPC-Web trailer frame. */
export function encodeTrailerFrame(trailers: Trailers): Buffer {
  let text = '';
  for (const [name, value] of Object.entries(trailers)) {
    if (value === undefined || name.startsWith(':')) continue;
    for (const v of Array.isArray(value) ? value : [value]) text += `${name}:${v}\r\n`;
  }
  const body = Buffer.from(text, 'latin1');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  frame[0] = TRAILER_FLAG;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, FRAME_HEADER);
  return frame;
}

/** Why a text-mode request body cannot be decoded (Envoy's response code details). */
export type Base64Failure = 'grpc_base_64_decode_failed_bad_size' | 'grpc_base_64_decode_failed';

// Whole quanta, padding only at the end of one (a client may concatenate padded messages).
const QUANTA = /^(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)*$/;

/**
 * Decodes a base64 request body arriving in arbitrary chunks: each push decodes the whole
 * 4-character quanta so far and keeps the rest (fewer than 4 characters) for the next one.
 */
export class Base64Decoder {
  private pending = '';

  /** Decoded bytes, or the failure (invalid characters or padding). */
  push(chunk: Buffer): Buffer | Base64Failure {
    const text = this.pending + chunk.toString('latin1');
    const whole = text.length - (text.length % 4);
    this.pending = text.slice(whole);
    return decodeQuanta(text.slice(0, whole));
  }

  /** At the end of the body: left-over characters mean it was not whole quanta. */
  end(): Base64Failure | undefined {
    return this.pending.length ? 'grpc_base_64_decode_failed_bad_size' : undefined;
  }
}

function decodeQuanta(text: string): Buffer | Base64Failure {
  if (text.length === 0) return Buffer.alloc(0);
  if (!QUANTA.test(text)) return 'grpc_base_64_decode_failed';
  const pad = text.indexOf('=');
  if (pad < 0 || pad >= text.length - 2) return Buffer.from(text, 'base64');
  // Padding inside: decode each padded run on its own.
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 3; i < text.length; i += 4) {
    if (text.charCodeAt(i) === 61 /* = */) {
      parts.push(Buffer.from(text.slice(start, i + 1), 'base64'));
      start = i + 1;
    }
  }
  if (start < text.length) parts.push(Buffer.from(text.slice(start), 'base64'));
  return Buffer.concat(parts);
}

/**
 * The text mode's response body: complete gRPC frames, each base64-encoded on its own (as
 * Envoy encodes them); an incomplete frame waits for the rest.
 */
export class TextFrameEncoder {
  private buffered: Buffer | undefined;

  push(chunk: Buffer): Buffer {
    let data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = undefined;
    let out = '';
    while (data.length >= FRAME_HEADER) {
      const size = FRAME_HEADER + data.readUInt32BE(1);
      if (data.length < size) break;
      out += data.subarray(0, size).toString('base64');
      data = data.subarray(size);
    }
    if (data.length) this.buffered = Buffer.from(data);
    return Buffer.from(out, 'latin1');
  }

  /** What is left at the end (an upstream that ended mid-frame): sent as it is, encoded. */
  flush(): Buffer {
    const rest = this.buffered;
    this.buffered = undefined;
    return rest ? Buffer.from(rest.toString('base64'), 'latin1') : Buffer.alloc(0);
  }
}
