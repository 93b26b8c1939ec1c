// Protobuf's wire format, written: a growing buffer of tags and values. A nested message is
// written by a child Writer and copied in behind its length (the messages a proxy writes are
// small: its DiscoveryRequests and its CSR).
import { WireType } from './reader.js';

const TWO_32 = 4294967296;

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  tag(field: number, wireType: number): this {
    return this.uint32(((field << 3) | wireType) >>> 0);
  }

  uint32(value: number): this {
    this.room(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** int32 and enums: negative values take ten bytes, as their int64 sign extension. */
  int32(value: number): this {
    return value < 0 ? this.int64(value) : this.uint32(value);
  }

  sint32(value: number): this {
    return this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** A 64-bit varint from a number (two's complement when negative). */
  int64(value: number): this {
    const [lo, hi] = split64(value);
    return this.varint64(lo, hi);
  }

  sint64(value: number): this {
    // zigzag: (n << 1) ^ (n >> 63), on the magnitude so that it stays exact up to 2^53
    return value < 0
      ? this.varint64(...split64(-value * 2 - 1))
      : this.varint64(...split64(value * 2));
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  fixed32(value: number): this {
    this.room(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  sfixed32(value: number): this {
    this.room(4);
    this.buf.writeInt32LE(value | 0, this.pos);
    this.pos += 4;
    return this;
  }

  fixed64(value: number): this {
    const [lo, hi] = split64(value);
    this.room(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
    return this;
  }

  float(value: number): this {
    this.room(4);
    this.buf.writeFloatLE(value, this.pos);
    this.pos += 4;
    return this;
  }

  double(value: number): this {
    this.room(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  string(value: string): this {
    const length = Buffer.byteLength(value);
    this.uint32(length);
    this.room(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
    return this;
  }

  bytes(value: Uint8Array): this {
    this.uint32(value.length);
    this.room(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** A length-delimited field holding what `write` writes. */
  message(field: number, write: (w: Writer) => void): this {
    const inner = new Writer();
    write(inner);
    return this.tag(field, WireType.LengthDelimited).bytes(inner.finish());
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private varint64(lo: number, hi: number): this {
    this.room(10);
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
    return this;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}

/** A number as the unsigned halves of its 64-bit two's complement. */
function split64(value: number): [number, number] {
  const v = Math.trunc(value);
  if (v >= 0) return [(v % TWO_32) >>> 0, Math.floor(v / TWO_32) >>> 0];
  const m = -v;
  let lo = ~((m % TWO_32) >>> 0) >>> 0;
  let hi = ~Math.floor(m / TWO_32) >>> 0;
  lo = (lo + 1) >>> 0;
  if (lo === 0) hi = (hi + 1) >>> 0;
  return [lo, hi];
}
