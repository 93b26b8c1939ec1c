// Istio's peer metadata: who is on the other side of a call. Over HTTP, sidecars exchange their
// node metadata in `x-envoy-peer-metadata` (base64 of a protobuf Struct: NAME, NAMESPACE,
// WORKLOAD_NAME, CLUSTER_ID, LABELS with the canonical service, revision, app and version) and
// `x-envoy-peer-metadata-id` (the node id), as the peer_metadata filter's istio_headers method
// does (istio/proxy source/extensions/filters/http/peer_metadata, extensions/common/
// metadata_object.cc). Clients without a response header fall back on the endpoint's
// `istio.workload` metadata (`name;namespace;canonical-service;canonical-revision;cluster`).

export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

const CANONICAL_NAME = 'service.istio.io/canonical-name';
const CANONICAL_REVISION = 'service.istio.io/canonical-revision';

/** Istio's WorkloadMetadataObject: the fields telemetry reads. Empty string = not known. */
export interface PeerInfo {
  readonly instanceName: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly clusterId: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly app: string;
  readonly version: string;
}

export interface LocalNode {
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly clusterId?: string;
}

/**
 * The proxy's own metadata. Istio's injector always sets the canonical labels (defaulting to
 * `app` or the workload name, and to `version` or `latest`); skiff's Workloads may not carry
 * them, so the same defaults apply here.
 */
export function localPeerInfo(n: LocalNode): PeerInfo {
  const l = n.labels;
  return {
    instanceName: n.name,
    namespace: n.namespace,
    workloadName: n.workloadName,
    clusterId: n.clusterId ?? 'Kubernetes',
    canonicalName:
      l[CANONICAL_NAME] || l['app.kubernetes.io/name'] || l['app'] || n.workloadName || '',
    canonicalRevision:
      l[CANONICAL_REVISION] || l['app.kubernetes.io/version'] || l['version'] || 'latest',
    app: l['app'] ?? '',
    version: l['version'] ?? '',
  };
}

/** `istio.workload` endpoint metadata: `name;namespace;canonical-service;revision;cluster`. */
export function peerFromEndpointMetadata(encoded: string): PeerInfo | undefined {
  const parts = encoded.split(';');
  if (parts.length < 4) return undefined;
  const [workloadName = '', namespace = '', canonicalName = '', canonicalRevision = ''] = parts;
  return {
    instanceName: '',
    namespace,
    workloadName,
    clusterId: parts[4] ?? '',
    canonicalName,
    canonicalRevision,
    // Istio's endpoint encoding has no app and version; skiff's generator writes the app and
    // version labels in the canonical slots, which is what Istio's canonical defaults are.
    app: '',
    version: '',
  };
}

// --- protobuf Struct, by hand: Struct{1: map<string, Value>}, Value{3: string, 5: Struct} ---

function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
}

function lengthDelimited(field: number, bytes: readonly number[] | Buffer, out: number[]): void {
  out.push((field << 3) | 2);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

type StructValue = string | { readonly [k: string]: StructValue };

function encodeStruct(fields: Readonly<Record<string, StructValue>>): number[] {
  const out: number[] = [];
  // Deterministic, as Istio's serializeToStringDeterministic: map entries by key.
  for (const key of Object.keys(fields).sort()) {
    const v = fields[key] as StructValue;
    const value: number[] = [];
    if (typeof v === 'string') lengthDelimited(3, Buffer.from(v, 'utf8'), value);
    else lengthDelimited(5, encodeStruct(v), value);
    const entry: number[] = [];
    lengthDelimited(1, Buffer.from(key, 'utf8'), entry);
    lengthDelimited(2, value, entry);
    lengthDelimited(1, entry, out);
  }
  return out;
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 49) throw new Error('varint too long');
    }
  }
  /** Reads a tag; returns [field, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  sub(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated field');
    const r = new Reader(this.buf, this.pos + len);
    r.pos = this.pos;
    this.pos += len;
    return r;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.sub();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`wire type ${wire}`);
  }
  string(): string {
    const r = this.sub();
    return this.buf.toString('utf8', r.pos, r.end);
  }
}

type Decoded = { [k: string]: Decoded | string | undefined };

function decodeValue(r: Reader): Decoded | string | undefined {
  let out: Decoded | string | undefined;
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (field === 3 && wire === 2) out = r.string();
    else if (field === 5 && wire === 2) out = decodeStruct(r.sub());
    else r.skip(wire);
  }
  return out;
}

function decodeStruct(r: Reader): Decoded {
  const out: Decoded = {};
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (field !== 1 || wire !== 2) {
      r.skip(wire);
      continue;
    }
    const entry = r.sub();
    let key = '';
    let value: Decoded | string | undefined;
    while (entry.pos < entry.end) {
      const [f, w] = entry.tag();
      if (f === 1 && w === 2) key = entry.string();
      else if (f === 2 && w === 2) value = decodeValue(entry.sub());
      else entry.skip(w);
    }
    out[key] = value;
  }
  return out;
}

/** The header value: base64 of the Struct Istio's convertWorkloadMetadataToStruct builds. */
export function encodePeerHeader(p: PeerInfo): string {
  const fields: Record<string, StructValue> = {};
  if (p.instanceName) fields['NAME'] = p.instanceName;
  if (p.namespace) fields['NAMESPACE'] = p.namespace;
  if (p.workloadName) fields['WORKLOAD_NAME'] = p.workloadName;
  if (p.clusterId) fields['CLUSTER_ID'] = p.clusterId;
  const labels: Record<string, string> = {};
  if (p.canonicalName) labels[CANONICAL_NAME] = p.canonicalName;
  if (p.canonicalRevision) labels[CANONICAL_REVISION] = p.canonicalRevision;
  if (p.app) labels['app'] = p.app;
  if (p.version) labels['version'] = p.version;
  fields['LABELS'] = labels;
  return Buffer.from(encodeStruct(fields)).toString('base64');
}

/** Reads a peer's header value; undefined when it is not a Struct (Istio ignores those too). */
export function decodePeerHeader(value: string): PeerInfo | undefined {
  try {
    const buf = Buffer.from(value, 'base64');
    const s = decodeStruct(new Reader(buf, buf.length));
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const labels = typeof s['LABELS'] === 'object' ? s['LABELS'] : {};
    // Istio's convertStructToWorkloadMetadata: canonical labels, else app/version labels.
    const app = str(labels['app']) || str(labels['app.kubernetes.io/name']);
    const version = str(labels['version']) || str(labels['app.kubernetes.io/version']);
    return {
      instanceName: str(s['NAME']),
      namespace: str(s['NAMESPACE']),
      workloadName: str(s['WORKLOAD_NAME']),
      clusterId: str(s['CLUSTER_ID']),
      canonicalName: str(labels[CANONICAL_NAME]) || app,
      canonicalRevision: str(labels[CANONICAL_REVISION]) || version,
      app,
      version,
    };
  } catch {
    return undefined;
  }
}
