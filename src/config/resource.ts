// The config model every part of skiff shares: a resource as read from YAML (with where it came
// from) and a problem found in one, printed as `file:line: Kind namespace/name: field: message`.

export interface SourceLocation {
  /** Path as the user gave it (or the name given to `skiff apply`). */
  readonly file: string;
  /** 1-based line of the document's start, or of the field a problem names. */
  readonly line: number;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ConfigResource<Spec = unknown> {
  /** As written, e.g. `networking.istio.io/v1beta1`. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
  readonly source: SourceLocation;
}

export type Severity = 'error' | 'warning';

export interface ConfigProblem {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  /** Empty when the document has no recognisable kind. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Dotted path with list indexes, e.g. `spec.http[0].route[1].weight`; empty for the whole document. */
  readonly field: string;
  readonly message: string;
}

/** `file:line: Kind namespace/name: field.path: message` — the one format for every problem. */
export function formatProblem(p: ConfigProblem): string {
  const who = p.kind ? `${p.kind} ${p.namespace}/${p.name}` : '(unknown kind)';
  const field = p.field ? `${p.field}: ` : '';
  const prefix = p.severity === 'warning' ? 'warning: ' : '';
  return `${p.file}:${p.line}: ${who}: ${field}${prefix}${p.message}`;
}

/** Identity of a resource in the store: kinds are unique without their version. */
export function resourceKey(r: {
  kind: string;
  metadata: { namespace: string; name: string };
}): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
}

export const DEFAULT_NAMESPACE = 'default';
/** Istio's root namespace: mesh-wide policies live here. */
export const ROOT_NAMESPACE = 'istio-system';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DOMAIN_SUFFIX = 'svc.cluster.local';
