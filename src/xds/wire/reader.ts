// Protobuf's wire format, read (https://protobuf.dev/programming-guides/encoding/): varints,
// little-endian fixed-width numbers and length-delimited runs, from a Buffer. 64-bit integers
// come out as JS numbers, as protobufjs gives them with `longs: Number` (exact up to 2^53).

/** Wire types (the low 3 bits of a tag). */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

export class WireError extends Error {
  readonly code = 'ERR_PROTO_WIRE';
}

const TWO_32 = 4294967296;

/** How deep messages (and groups) may nest, as in protobufjs and Envoy's own limit. */
export const MAX_DEPTH = 100;

/**
 * Reads one message: `end` bounds it, so a sub-message read with sub() cannot reach past itself
 * into its siblings, whatever lengths it claims.
 */
export class Reader {
  pos: number;
  /** The 64-bit varint just read by varint64(), as two unsigned halves. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
    readonly depth = 0,
  ) {
    this.pos = start;
  }

  /** The next length-delimited run as a Reader of its own; this one moves past it. */
  sub(): Reader {
    const end = this.delimited();
    if (this.depth >= MAX_DEPTH) throw new WireError(`messages nested deeper than ${MAX_DEPTH}`);
    const child = new Reader(this.buf, this.pos, end, this.depth + 1);
    this.pos = end;
    return child;
  }

  /** A varint's low 32 bits, unsigned (longer varints are read to their end). */
  uint32(): number {
    const buf = this.buf;
    let value = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
      shift += 7;
      if (shift >= 70) throw new WireError('varint longer than 10 bytes');
    }
  }

  /** Reads a varint into lo/hi. */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = buf[this.pos++] as number;
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else if (shift < 64) hi |= bits << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift >= 70) throw new WireError('varint longer than 10 bytes');
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** lo/hi as a number: two's complement when signed. */
  long(unsigned: boolean): number {
    let lo = this.lo;
    let hi = this.hi;
    if (!unsigned && hi >>> 31) {
      lo = (~lo + 1) >>> 0;
      hi = ~hi >>> 0;
      if (!lo) hi = (hi + 1) >>> 0;
      return -(lo + hi * TWO_32);
    }
    return lo + hi * TWO_32;
  }

  /** lo/hi zigzag-decoded (sint64). */
  zigzag64(): number {
    const negative = this.lo & 1;
    const lo = ((this.lo >>> 1) | (this.hi << 31)) >>> 0;
    const hi = this.hi >>> 1;
    const magnitude = lo + hi * TWO_32;
    return negative ? -magnitude - 1 : magnitude;
  }

  fixed32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  sfixed32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  float(): number {
    this.need(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A fixed 64-bit value into lo/hi. */
  fixed64(): void {
    this.need(8);
    this.lo = this.buf.readUInt32LE(this.pos);
    this.hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
  }

  /** A length-delimited run: returns its end and leaves pos at its start. */
  delimited(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.end) throw new WireError('length-delimited field runs past its message');
    return end;
  }

  string(): string {
    const end = this.delimited();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A length-delimited run as a Buffer sharing this one's memory. */
  bytes(): Buffer {
    const end = this.delimited();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** Skips a field's value of the given wire type. */
  skip(wireType: number, depth = this.depth): void {
    switch (wireType) {
      case WireType.Varint:
        this.uint32();
        return;
      case WireType.Fixed64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LengthDelimited:
        this.pos = this.delimited();
        return;
      case WireType.StartGroup:
        if (depth >= MAX_DEPTH) throw new WireError(`groups nested deeper than ${MAX_DEPTH}`);
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === WireType.EndGroup) return;
          this.skip(tag & 7, depth + 1);
        }
      case WireType.Fixed32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new WireError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new WireError('truncated fixed-width value');
  }
}

/** A Buffer view of bytes from anywhere (grpc-js gives Buffers; tests may give Uint8Arrays). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
