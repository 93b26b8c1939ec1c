// AuthorizationPolicy rules → Envoy RBAC policies (envoy.config.rbac.v3.Policy), shaped as
// istiod's pilot/pkg/security/authz/model builds them: one policy per rule, named
// `ns[<ns>]-policy[<name>]-rule[<i>]`; each `to` is one permission (its fields ANDed, the values
// of a field ORed, notX as not_rule), each `from` one principal; `when` conditions join the
// permission (destination.*, connection.sni, experimental.envoy.filters.*) or the principal side
// (everything else). Request identity (requestPrincipals, request.auth.*) is read from
// jwt_authn's payload metadata, as Istio's extended JWT matchers do. Value matchers: rbac-matchers.ts.
import type { AuthorizationPolicySpec } from '../../config/kinds.js';
import type { AuthorizationPolicyResource } from '../model/authorization.js';
import {
  authenticated,
  cidr,
  claimMatcher,
  envoyFilterMatcher,
  headerMatch,
  isPathTemplate,
  namespaceRegex,
  pathTemplateRegex,
  requestPrincipals,
  serviceAccountRegex,
  SPIFFE,
  stringMatch,
  trustDomainMatch,
  withPrefix,
} from './rbac-matchers.js';

type EnvoyObject = Record<string, unknown>;
type Rule = NonNullable<AuthorizationPolicySpec['rules']>[number];
type Source = NonNullable<NonNullable<Rule['from']>[number]['source']>;
type Operation = NonNullable<NonNullable<Rule['to']>[number]['operation']>;

/** HTTP-only rule fields (Istio's TCP filter chains cannot see them). */
const HTTP_SOURCE_FIELDS = ['requestPrincipals', 'notRequestPrincipals'] as const;
const HTTP_OPERATION_FIELDS = [
  'hosts',
  'notHosts',
  'methods',
  'notMethods',
  'paths',
  'notPaths',
] as const;
const isHttpKey = (key: string): boolean =>
  key.startsWith('request.headers') || key.startsWith('request.auth.');

type Side = 'ids' | 'rules';
/** One value → one matcher (ORed over values), or all values → one matcher (Istio's extended). */
type Generator =
  | { readonly side: Side; readonly one: (v: string) => EnvoyObject }
  | { readonly side: Side; readonly all: (values: readonly string[]) => EnvoyObject };

const or = (side: Side, items: EnvoyObject[]): EnvoyObject =>
  side === 'ids' ? { or_ids: { ids: items } } : { or_rules: { rules: items } };
const not = (side: Side, x: EnvoyObject): EnvoyObject =>
  side === 'ids' ? { not_id: x } : { not_rule: x };

/** Istio's rule.principal / rule.permission: values ORed, notValues as NOT(OR). */
function emit(
  out: EnvoyObject[],
  g: Generator,
  values: readonly string[] | undefined,
  notValues: readonly string[] | undefined,
): void {
  const make = (list: readonly string[]) =>
    'all' in g ? g.all(list) : or(g.side, list.map(g.one));
  if (values?.length) out.push(make(values));
  if (notValues?.length) out.push(not(g.side, make(notValues)));
}

function generators(policyNs: string) {
  return {
    srcIp: { side: 'ids', one: (v: string) => ({ direct_remote_ip: cidr(v) }) },
    remoteIp: { side: 'ids', one: (v: string) => ({ remote_ip: cidr(v) }) },
    namespace: { side: 'ids', one: (v: string) => authenticated(namespaceRegex(v)) },
    serviceAccount: {
      side: 'ids',
      one: (v: string) => authenticated(serviceAccountRegex(policyNs, v)),
    },
    principal: { side: 'ids', one: (v: string) => authenticated(withPrefix(v, SPIFFE)) },
    trustDomain: { side: 'ids', one: (v: string) => authenticated(trustDomainMatch(v)) },
    requestPrincipal: { side: 'ids', all: requestPrincipals },
    audiences: { side: 'ids', all: (vs: readonly string[]) => claimMatcher(['aud'], vs) },
    presenter: { side: 'ids', all: (vs: readonly string[]) => claimMatcher(['azp'], vs) },
    host: { side: 'rules', one: (v: string) => headerMatch(':authority', v, true) },
    method: { side: 'rules', one: (v: string) => headerMatch(':method', v) },
    path: {
      side: 'rules',
      one: (v: string) => ({
        url_path: {
          path: isPathTemplate(v)
            ? { safe_regex: { regex: pathTemplateRegex(v) } }
            : stringMatch(v),
        },
      }),
    },
    port: { side: 'rules', one: (v: string) => ({ destination_port: Number(v) }) },
    destIp: { side: 'rules', one: (v: string) => ({ destination_ip: cidr(v) }) },
    sni: { side: 'rules', one: (v: string) => ({ requested_server_name: stringMatch(v) }) },
  } satisfies Record<string, Generator>;
}

/** The `[a][b]` keys of `request.auth.claims[a][b]` / `request.headers[x]`. */
function bracketKeys(key: string): string[] {
  return [...key.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '');
}

/** The generator of a `when` key (Istio's model.New); undefined: not generated. */
function conditionGenerator(key: string, policyNs: string): Generator | undefined {
  const g = generators(policyNs);
  if (key.startsWith('request.headers[')) {
    const name = bracketKeys(key)[0] ?? '';
    return { side: 'ids', one: (v) => headerMatch(name, v) };
  }
  if (key.startsWith('request.auth.claims[')) {
    const path = bracketKeys(key);
    return { side: 'ids', all: (vs) => claimMatcher(path, vs) };
  }
  if (key.startsWith('experimental.envoy.filters.') && key.includes('['))
    return { side: 'rules', all: (vs) => envoyFilterMatcher(key, vs) };
  const byKey: Record<string, Generator> = {
    'source.ip': g.srcIp,
    'remote.ip': g.remoteIp,
    'source.namespace': g.namespace,
    'source.serviceAccount': g.serviceAccount,
    'source.principal': g.principal,
    'source.trustDomain': g.trustDomain,
    'request.auth.principal': g.requestPrincipal,
    'request.auth.audiences': g.audiences,
    'request.auth.presenter': g.presenter,
    'destination.ip': g.destIp,
    'destination.port': g.port,
    'connection.sni': g.sni,
  };
  return byKey[key];
}

/** Whether a rule reads anything only HTTP has. */
export function ruleNeedsHttp(rule: Rule): boolean {
  return (
    (rule.from ?? []).some((f) => HTTP_SOURCE_FIELDS.some((k) => f.source?.[k]?.length)) ||
    (rule.to ?? []).some((t) => HTTP_OPERATION_FIELDS.some((k) => t.operation?.[k]?.length)) ||
    (rule.when ?? []).some((w) => isHttpKey(w.key))
  );
}

/** The rule without its HTTP-only fields (a DENY on TCP still denies: more restrictive). */
function withoutHttp(rule: Rule): Rule {
  const strip = <T extends object>(o: T | undefined, keys: readonly string[]): T | undefined =>
    o && (Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T);
  return {
    ...rule,
    ...(rule.from
      ? { from: rule.from.map((f) => ({ ...f, source: strip(f.source, HTTP_SOURCE_FIELDS) })) }
      : {}),
    ...(rule.to
      ? { to: rule.to.map((t) => ({ ...t, operation: strip(t.operation, HTTP_OPERATION_FIELDS) })) }
      : {}),
    ...(rule.when ? { when: rule.when.filter((w) => !isHttpKey(w.key)) } : {}),
  } as Rule;
}

/**
 * One rule as an Envoy policy (Istio's model.New + Generate): per `to`, an and_rules of hosts,
 * methods, paths, ports, then the permission-side `when` conditions; per `from`, an and_ids of
 * principals, requestPrincipals, serviceAccounts, namespaces, remoteIpBlocks, ipBlocks, then the
 * principal-side conditions. Nothing to match: `any`.
 */
export function rulePolicy(rule: Rule, policyNs: string): EnvoyObject {
  const g = generators(policyNs);
  const whenIds: EnvoyObject[] = [];
  const whenRules: EnvoyObject[] = [];
  for (const w of rule.when ?? []) {
    const gen = conditionGenerator(w.key, policyNs);
    if (gen) emit(gen.side === 'ids' ? whenIds : whenRules, gen, w.values, w.notValues);
  }
  const permission = (o: Operation | undefined): EnvoyObject => {
    const rules: EnvoyObject[] = [];
    if (o) {
      emit(rules, g.host, o.hosts, o.notHosts);
      emit(rules, g.method, o.methods, o.notMethods);
      emit(rules, g.path, o.paths, o.notPaths);
      emit(rules, g.port, o.ports, o.notPorts);
    }
    rules.push(...whenRules);
    return { and_rules: { rules: rules.length ? rules : [{ any: true }] } };
  };
  const principal = (s: Source | undefined): EnvoyObject => {
    const ids: EnvoyObject[] = [];
    if (s) {
      emit(ids, g.principal, s.principals, s.notPrincipals);
      emit(ids, g.requestPrincipal, s.requestPrincipals, s.notRequestPrincipals);
      emit(ids, g.serviceAccount, s.serviceAccounts, s.notServiceAccounts);
      emit(ids, g.namespace, s.namespaces, s.notNamespaces);
      emit(ids, g.remoteIp, s.remoteIpBlocks, s.notRemoteIpBlocks);
      emit(ids, g.srcIp, s.ipBlocks, s.notIpBlocks);
    }
    ids.push(...whenIds);
    return { and_ids: { ids: ids.length ? ids : [{ any: true }] } };
  };
  return {
    permissions: (rule.to?.length ? rule.to : [undefined]).map((t) => permission(t?.operation)),
    principals: (rule.from?.length ? rule.from : [undefined]).map((f) => principal(f?.source)),
  };
}

export function policyName(p: AuthorizationPolicyResource, ruleIndex: number): string {
  return `ns[${p.metadata.namespace ?? ''}]-policy[${p.metadata.name}]-rule[${ruleIndex}]`;
}

/**
 * The Envoy policies of AuthorizationPolicies (RBAC.policies), by name. `tcp`: HTTP-only fields
 * cannot be evaluated there. Istio (model.rule.checkError): an ALLOW rule needing them fails and
 * is left out, so it never opens the port; for DENY and AUDIT those fields are dropped and the
 * rest of the rule still applies (a DENY denies more, never less).
 */
export function rbacPolicies(
  policies: readonly AuthorizationPolicyResource[],
  opts: { readonly tcp: boolean; readonly namePrefix?: string },
): Record<string, EnvoyObject> {
  const out: Record<string, EnvoyObject> = {};
  for (const p of policies) {
    const allow = (p.spec.action ?? 'ALLOW') === 'ALLOW';
    const ns = p.metadata.namespace ?? '';
    (p.spec.rules ?? []).forEach((rule, i) => {
      // Istio's model.New fails on a `when` key it does not know, and the rule is skipped.
      if ((rule.when ?? []).some((w) => !conditionGenerator(w.key, ns))) return;
      let r = rule;
      if (opts.tcp && ruleNeedsHttp(rule)) {
        if (allow) return;
        r = withoutHttp(rule);
      }
      out[(opts.namePrefix ?? '') + policyName(p, i)] = rulePolicy(r, ns);
    });
  }
  return out;
}
