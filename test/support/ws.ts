// A minimal WebSocket (RFC 6455) for tests: the handshake's accept key, and text frames (masked
// from the client, as the RFC requires). Node 20 has no WebSocket client of its own.
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** A text frame; masked when sent by a client. */
export function textFrame(text: string, masked: boolean): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const len = payload.length;
  const head =
    len < 126 ? Buffer.from([0x81, len]) : Buffer.from([0x81, 126, len >> 8, len & 0xff]);
  if (!masked) return Buffer.concat([head, payload]);
  head[1] = (head[1] ?? 0) | 0x80;
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([head, mask, body]);
}

/** Splits whole text frames off `data`; returns their texts and what is left over. */
export function readFrames(data: Buffer): { texts: string[]; rest: Buffer } {
  const texts: string[] = [];
  let pos = 0;
  for (;;) {
    if (data.length - pos < 2) break;
    const b1 = data[pos + 1] ?? 0;
    let len = b1 & 0x7f;
    let off = pos + 2;
    if (len === 126) {
      if (data.length - pos < 4) break;
      len = data.readUInt16BE(pos + 2);
      off = pos + 4;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskAt = off;
    if (masked) off += 4;
    if (data.length < off + len) break;
    let payload = data.subarray(off, off + len);
    if (masked) payload = Buffer.from(payload.map((b, i) => b ^ (data[maskAt + (i % 4)] ?? 0)));
    texts.push(payload.toString('utf8'));
    pos = off + len;
  }
  return { texts, rest: data.subarray(pos) };
}

/** The server side as source text, for app scripts the tests write (plain ESM, no imports). */
export const WS_SERVER_SOURCE = `
import { createHash } from 'node:crypto';
const acceptKey = (key) => createHash('sha1').update(key + '${GUID}').digest('base64');
function textFrame(text) {
  const payload = Buffer.from(text, 'utf8');
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, len]) : Buffer.from([0x81, 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, payload]);
}
function readFrames(data) {
  const texts = [];
  let pos = 0;
  for (;;) {
    if (data.length - pos < 2) break;
    const b1 = data[pos + 1];
    let len = b1 & 0x7f;
    let off = pos + 2;
    if (len === 126) {
      if (data.length - pos < 4) break;
      len = data.readUInt16BE(pos + 2);
      off = pos + 4;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskAt = off;
    if (masked) off += 4;
    if (data.length < off + len) break;
    let payload = data.subarray(off, off + len);
    if (masked) payload = Buffer.from(payload.map((b, i) => b ^ data[maskAt + (i % 4)]));
    texts.push(payload.toString('utf8'));
    pos = off + len;
  }
  return { texts, rest: data.subarray(pos) };
}
`;
