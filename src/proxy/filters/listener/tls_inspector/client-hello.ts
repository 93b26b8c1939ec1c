// Reads a TLS ClientHello without consuming it, as Envoy's tls_inspector does: whether the bytes
// are TLS at all, and the SNI (RFC 6066 §3) and ALPN (RFC 7301) the client asked for.

/** What the inspector learnt from the first bytes of a connection. */
export interface ClientHelloInfo {
  /** `tls` when the bytes are a TLS handshake, else `raw_buffer` (Envoy's transport protocols). */
  readonly transportProtocol: 'tls' | 'raw_buffer';
  /** The server_name extension's host name, lower-cased ('' when absent). */
  readonly serverName: string;
  /** The ALPN protocols offered, in the client's order. */
  readonly applicationProtocols: readonly string[];
}

/** `more`: the buffer holds the start of a ClientHello and more bytes are needed. */
export type ParseResult =
  { readonly done: true; readonly info: ClientHelloInfo } | { readonly done: false };

const RAW: ClientHelloInfo = Object.freeze({
  transportProtocol: 'raw_buffer',
  serverName: '',
  applicationProtocols: [],
});

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
/** A ClientHello larger than this is not worth waiting for (Envoy's max_client_hello_size, 16 KiB). */
export const MAX_CLIENT_HELLO = 16 * 1024;

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get left(): number {
    return this.buf.length - this.pos;
  }
  u8(): number {
    if (this.left < 1) throw new RangeError('short');
    return this.buf[this.pos++] as number;
  }
  u16(): number {
    if (this.left < 2) throw new RangeError('short');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    return (this.u8() << 16) | this.u16();
  }
  bytes(n: number): Buffer {
    if (this.left < n) throw new RangeError('short');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(n: number): void {
    this.bytes(n);
  }
}

/**
 * Parses the first bytes of a connection. Returns `done: false` while a TLS handshake is still
 * arriving; anything that is not a TLS handshake record is `raw_buffer` at once, so plaintext
 * protocols are not held up.
 */
export function parseClientHello(data: Buffer): ParseResult {
  if (data.length === 0) return { done: false };
  if (data[0] !== HANDSHAKE) return { done: true, info: RAW };
  // Record layer: type(1) version(2) length(2). SSLv3 and later have major version 3.
  if (data.length >= 2 && data[1] !== 3) return { done: true, info: RAW };
  if (data.length < 5) return { done: false };
  // A ClientHello may span records: gather the handshake message's bytes from each.
  const handshake: Buffer[] = [];
  let have = 0;
  let pos = 0;
  let needed = -1;
  while (pos + 5 <= data.length) {
    if (data[pos] !== HANDSHAKE) return { done: true, info: RAW };
    const len = data.readUInt16BE(pos + 3);
    const end = pos + 5 + len;
    handshake.push(data.subarray(pos + 5, Math.min(end, data.length)));
    have += Math.min(end, data.length) - (pos + 5);
    const joined = handshake.length === 1 ? (handshake[0] as Buffer) : Buffer.concat(handshake);
    if (needed < 0 && joined.length >= 4) {
      if (joined[0] !== CLIENT_HELLO) return { done: true, info: RAW };
      needed = 4 + joined.readUIntBE(1, 3);
    }
    if (needed >= 0 && have >= needed)
      return { done: true, info: parseBody(joined.subarray(4, needed)) };
    if (end > data.length) break;
    pos = end;
  }
  if (data.length > MAX_CLIENT_HELLO + 5) return { done: true, info: tlsWithout() };
  return { done: false };
}

function tlsWithout(): ClientHelloInfo {
  return { transportProtocol: 'tls', serverName: '', applicationProtocols: [] };
}

/** The ClientHello body (RFC 8446 §4.1.2, the same layout back to TLS 1.0). */
function parseBody(body: Buffer): ClientHelloInfo {
  let serverName = '';
  const alpn: string[] = [];
  try {
    const r = new Reader(body);
    r.skip(2 + 32); // legacy_version, random
    r.skip(r.u8()); // legacy_session_id
    r.skip(r.u16()); // cipher_suites
    r.skip(r.u8()); // legacy_compression_methods
    if (r.left === 0) return tlsWithout();
    const extEnd = r.u16() + r.pos;
    while (r.pos + 4 <= extEnd) {
      const type = r.u16();
      const ext = new Reader(r.bytes(r.u16()));
      if (type === EXT_SERVER_NAME) {
        const listEnd = ext.u16() + ext.pos;
        while (ext.pos < listEnd) {
          const nameType = ext.u8();
          const name = ext.bytes(ext.u16());
          // host_name(0) is the only name type defined.
          if (nameType === 0 && !serverName) serverName = name.toString('latin1').toLowerCase();
        }
      } else if (type === EXT_ALPN) {
        const listEnd = ext.u16() + ext.pos;
        while (ext.pos < listEnd) alpn.push(ext.bytes(ext.u8()).toString('latin1'));
      }
    }
  } catch {
    // A malformed hello still was TLS: match on what was read before the damage.
  }
  return { transportProtocol: 'tls', serverName, applicationProtocols: alpn };
}
