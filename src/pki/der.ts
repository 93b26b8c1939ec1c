// The few DER encodings a PKCS#10 request needs (X.690): tag, length, contents. Enough for a
// proxy to write its CSR with node:crypto alone, without an ASN.1 library in every sidecar.

/** A TLV: `tag`, the definite length of `contents`, then `contents`. */
export function tlv(tag: number, ...contents: readonly Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** X.690 §8.1.3: short form below 128, else 0x80 | byte count, then the length big-endian. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const sequence = (...items: readonly Buffer[]): Buffer => tlv(0x30, ...items);
export const set = (...items: readonly Buffer[]): Buffer => tlv(0x31, ...items);
export const octetString = (b: Buffer): Buffer => tlv(0x04, b);
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);

/** A small non-negative INTEGER (versions). */
export function smallInteger(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0x7f) throw new RangeError(`not a small integer: ${n}`);
  return tlv(0x02, Buffer.from([n]));
}

/** An OBJECT IDENTIFIER from its dotted form: 40·a + b first, then base-128 arcs. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined || arcs.some((x) => !Number.isInteger(x) || x < 0))
    throw new RangeError(`not an object identifier: ${dotted}`);
  const out = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
