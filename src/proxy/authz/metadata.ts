// Envoy's per-stream dynamic metadata, for the little of it skiff's filters share: the shadow
// RBAC result that enables ext_authz (filter_enabled_metadata). Kept beside the stream, not on it.
import type { HttpStream } from '../http/stream.js';

type Namespace = Record<string, unknown>;
const store = new WeakMap<HttpStream, Map<string, Namespace>>();

export function setDynamicMetadata(stream: HttpStream, filter: string, values: Namespace): void {
  let m = store.get(stream);
  if (!m) store.set(stream, (m = new Map()));
  m.set(filter, { ...(m.get(filter) ?? {}), ...values });
}

export function dynamicMetadata(stream: HttpStream, filter: string): Namespace | undefined {
  return store.get(stream)?.get(filter);
}
