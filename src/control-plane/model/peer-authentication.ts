// PeerAuthentication as istiod composes it (pilot/pkg/security/authn ComposePeerAuthentication):
// the mesh policy (root namespace, no selector), the namespace policy (no selector) and the
// workload policy (a selector matching the workload's labels) each set the mTLS mode in turn,
// UNSET inheriting; portLevelMtls of the workload policy overrides per target port. Among
// policies of one level the oldest wins; skiff has no creation times, so (as istiod's sort does
// for equal times) the first by name, then namespace. No policy at all: PERMISSIVE.
import type { ConfigResource } from '../../config/resource.js';
import type { PeerAuthenticationSpec } from '../../config/kinds.js';
import { labelsMatch } from './service.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** A workload's effective peer authentication: the mode, and per target port overrides. */
export interface EffectivePeerAuthentication {
  readonly mode: MtlsMode;
  readonly portLevel: ReadonlyMap<number, MtlsMode>;
}

const PERMISSIVE: EffectivePeerAuthentication = Object.freeze({
  mode: 'PERMISSIVE',
  portLevel: new Map(),
});

type Resource = ConfigResource<PeerAuthenticationSpec>;

/** A mode as written: undefined for UNSET (or absent), which inherits. */
function modeOf(m: { mode?: unknown } | undefined | null): MtlsMode | undefined {
  const v = m?.mode;
  return v === 'STRICT' || v === 'PERMISSIVE' || v === 'DISABLE' ? v : undefined;
}

function hasSelector(r: Resource): boolean {
  return Object.keys(r.spec.selector?.matchLabels ?? {}).length > 0;
}

function byAge(a: Resource, b: Resource): number {
  const ka = `${a.metadata.name}\u0000${a.metadata.namespace}`;
  const kb = `${b.metadata.name}\u0000${b.metadata.namespace}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class PeerAuthenticationIndex {
  private readonly mesh: Resource | undefined;
  /** namespace → its namespace-wide policy (the oldest). */
  private readonly namespaces = new Map<string, Resource>();
  /** namespace → its selector policies, oldest first. */
  private readonly workloads = new Map<string, Resource[]>();
  private readonly cache = new Map<string, EffectivePeerAuthentication>();

  constructor(
    resources: readonly Resource[],
    private readonly rootNamespace: string,
  ) {
    let mesh: Resource | undefined;
    for (const r of [...resources].sort(byAge)) {
      const ns = r.metadata.namespace;
      if (!hasSelector(r)) {
        if (ns === rootNamespace) mesh ??= r;
        else if (!this.namespaces.has(ns)) this.namespaces.set(ns, r);
      } else if (ns !== rootNamespace) {
        // istiod ignores selector policies in the root namespace.
        const list = this.workloads.get(ns) ?? [];
        list.push(r);
        this.workloads.set(ns, list);
      }
    }
    this.mesh = mesh;
  }

  get empty(): boolean {
    return !this.mesh && this.namespaces.size === 0 && this.workloads.size === 0;
  }

  /**
   * The mode of a namespace without workload policies (istiod's GetNamespaceMutualTLSMode, which
   * auto mTLS reads for a destination service): namespace, else mesh; undefined when neither sets one.
   */
  namespaceMode(namespace: string): MtlsMode | undefined {
    return modeOf(this.namespaces.get(namespace)?.spec.mtls) ?? modeOf(this.mesh?.spec.mtls);
  }

  /** The policy in force for a workload of `namespace` with `labels`. */
  forWorkload(
    namespace: string,
    labels: Readonly<Record<string, string>>,
  ): EffectivePeerAuthentication {
    if (this.empty) return PERMISSIVE;
    const workload = (this.workloads.get(namespace) ?? []).find((r) =>
      labelsMatch(r.spec.selector?.matchLabels ?? {}, labels),
    );
    const key = `${namespace}|${workload ? workload.metadata.name : ''}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let mode: MtlsMode = 'PERMISSIVE';
    mode = modeOf(this.mesh?.spec.mtls) ?? mode;
    mode = modeOf(this.namespaces.get(namespace)?.spec.mtls) ?? mode;
    mode = modeOf(workload?.spec.mtls) ?? mode;
    const portLevel = new Map<number, MtlsMode>();
    for (const [port, m] of Object.entries(workload?.spec.portLevelMtls ?? {}))
      portLevel.set(Number(port), modeOf(m) ?? mode);
    const out: EffectivePeerAuthentication = Object.freeze({ mode, portLevel });
    this.cache.set(key, out);
    return out;
  }

  /** The mode on one target port of a workload (portLevelMtls keys are target ports). */
  modeFor(
    namespace: string,
    labels: Readonly<Record<string, string>>,
    targetPort: number,
  ): MtlsMode {
    const p = this.forWorkload(namespace, labels);
    return p.portLevel.get(targetPort) ?? p.mode;
  }
}
