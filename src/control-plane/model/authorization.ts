// Which AuthorizationPolicies apply to a proxy, grouped by action. Istio
// (pilot/pkg/model/authorization.go ListAuthorizationPolicies): policies of the root namespace
// (mesh-wide) and of the proxy's namespace, each applying when its selector (none = every
// workload) is a subset of the proxy's labels. A policy with targetRef/targetRefs binds Gateway
// API gateways or services only, so it never applies to a skiff proxy (the checks warn).
import type { AuthorizationPolicySpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';

export type AuthorizationPolicyResource = ConfigResource<AuthorizationPolicySpec>;
export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthzProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The policies in force for a proxy, by action, each list in a stable order (namespace/name). */
export interface ProxyAuthorization {
  readonly allow: readonly AuthorizationPolicyResource[];
  readonly deny: readonly AuthorizationPolicyResource[];
  readonly audit: readonly AuthorizationPolicyResource[];
  /** CUSTOM policies by provider name. */
  readonly custom: ReadonlyMap<string, readonly AuthorizationPolicyResource[]>;
}

function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function byName(a: AuthorizationPolicyResource, b: AuthorizationPolicyResource): number {
  const x = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const y = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Policies applying to `proxy`, grouped by action (Istio's default action is ALLOW). */
export function authorizationFor(
  policies: readonly AuthorizationPolicyResource[],
  proxy: AuthzProxy,
  rootNamespace: string,
): ProxyAuthorization {
  const allow: AuthorizationPolicyResource[] = [];
  const deny: AuthorizationPolicyResource[] = [];
  const audit: AuthorizationPolicyResource[] = [];
  const custom = new Map<string, AuthorizationPolicyResource[]>();
  const applying = policies
    .filter((p) => {
      const ns = p.metadata.namespace;
      if (ns !== proxy.namespace && ns !== rootNamespace) return false;
      if (p.spec.targetRef || p.spec.targetRefs?.length) return false;
      return selects(p.spec.selector?.matchLabels, proxy.labels);
    })
    .sort(byName);
  for (const p of applying) {
    const action = (p.spec.action ?? 'ALLOW') as AuthzAction;
    if (action === 'DENY') deny.push(p);
    else if (action === 'AUDIT') audit.push(p);
    else if (action === 'CUSTOM') {
      const name = p.spec.provider?.name ?? '';
      custom.set(name, [...(custom.get(name) ?? []), p]);
    } else allow.push(p);
  }
  return { allow, deny, audit, custom };
}

export function hasAuthorization(a: ProxyAuthorization): boolean {
  return a.allow.length + a.deny.length + a.audit.length + a.custom.size > 0;
}

/** What analysis reports (analysis.ts's Finding, without importing it: no cycle). */
export interface AuthzFinding {
  readonly resource: AuthorizationPolicyResource;
  readonly field: string;
  readonly message: string;
}

/**
 * CUSTOM policies whose provider is not an `envoyExtAuthzHttp` provider of the mesh config:
 * istiod cannot build their ext_authz filter and denies the requests they match instead.
 */
export function customProviderFindings(
  resources: readonly { readonly kind: string }[],
  providers: readonly { readonly name: string; readonly [k: string]: unknown }[],
): AuthzFinding[] {
  const out: AuthzFinding[] = [];
  for (const r of resources) {
    if (r.kind !== 'AuthorizationPolicy') continue;
    const p = r as AuthorizationPolicyResource;
    if (p.spec.action !== 'CUSTOM' || !p.spec.provider?.name) continue;
    const name = p.spec.provider.name;
    const found = providers.find((e) => e.name === name);
    if (!found)
      out.push({
        resource: p,
        field: 'spec.provider.name',
        message: `provider "${name}" is not in mesh config extensionProviders: the requests this policy matches are denied`,
      });
    else if (!('envoyExtAuthzHttp' in found))
      out.push({
        resource: p,
        field: 'spec.provider.name',
        message: `provider "${name}" is not an envoyExtAuthzHttp provider (skiff supports HTTP authorizers only): the requests this policy matches are denied`,
      });
  }
  return out;
}
