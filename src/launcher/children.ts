// How the launcher starts skiff's own children (control plane, proxies) and what environment
// every child gets.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayPlan, InstancePlan, MeshPlan } from './plan.js';

export const LOOPBACK = '127.0.0.1';

/**
 * How to start `skiff`: `[node, <repo>/bin/skiff.js]` when this module runs compiled (dist/), or
 * `[node, --import <tsx>, <repo>/src/cli/main.ts]` when it runs from source under tsx, so that
 * children run the same code as the launcher, and a source checkout works without a build.
 */
export function defaultSkiffCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const root = repoRoot(path.dirname(here));
  if (here.endsWith('.ts')) {
    return [
      process.execPath,
      '--import',
      import.meta.resolve('tsx'),
      path.join(root, 'src', 'cli', 'main.ts'),
    ];
  }
  return [process.execPath, path.join(root, 'bin', 'skiff.js')];
}

/** The nearest folder up from `dir` holding bin/skiff.js and package.json. */
function repoRoot(dir: string): string {
  let current = dir;
  while (true) {
    if (
      existsSync(path.join(current, 'bin', 'skiff.js')) &&
      existsSync(path.join(current, 'package.json'))
    ) {
      return current;
    }
    const parent = path.dirname(current);
    if (parent === current) return process.cwd();
    current = parent;
  }
}

/** Upper-case env name for a port name: `http-web` → `PORT_HTTP_WEB`. */
export function portEnvName(name: string): string {
  return `PORT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function proxyUrl(outboundPort: number): string {
  return `http://127.0.0.1:${outboundPort}`;
}

/**
 * An app's environment: the launcher's, the Workload's `env`, then what skiff decides (the
 * ports to listen on, the sidecar as HTTP proxy, who it is), which the Workload cannot override.
 */
export function appEnv(
  base: NodeJS.ProcessEnv,
  inst: InstancePlan,
  stateDir: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...inst.env };
  const first = inst.ports[0];
  if (first) env['PORT'] = String(first.appPort);
  for (const p of inst.ports) if (p.name) env[portEnvName(p.name)] = String(p.appPort);
  Object.assign(env, instanceEnv(inst, inst.outboundPort), {
    SKIFF_WORKLOAD: inst.workloadName,
    SKIFF_SERVICE_ACCOUNT: inst.serviceAccount,
    SKIFF_STATE_DIR: stateDir,
  });
  return env;
}

/** What `skiff exec` also sets: the sidecar as HTTP proxy (both spellings), the instance. */
export function instanceEnv(
  inst: { name: string; namespace: string },
  outboundPort: number,
): Record<string, string> {
  const url = proxyUrl(outboundPort);
  return {
    HTTP_PROXY: url,
    http_proxy: url,
    SKIFF_INSTANCE: inst.name,
    SKIFF_NAMESPACE: inst.namespace,
  };
}

/** `node` in a Workload's command means the Node that runs skiff, PATH or not. */
export function resolveCommand(command: readonly string[]): string[] {
  const [first, ...rest] = command;
  return first === 'node' ? [process.execPath, ...rest] : [...command];
}

/** Where a child's files go. */
export interface ChildPaths {
  readonly stateDir: string;
  readonly instancesFile: string;
  /** The config directory as the control plane should name it (relative to the launcher's cwd). */
  readonly configArg: string;
  /** Config skiff adds, as Istio's install does (the egress gateway's Service). */
  readonly builtinConfig?: readonly string[];
  /** `--mesh-config` for the control plane. */
  readonly meshConfigFile?: string;
}

/** `skiff control-plane ...` for a plan (loopback only, the plan's ports, the gateway's ports). */
export function controlPlaneArgs(plan: MeshPlan, paths: ChildPaths): string[] {
  const args = [
    'control-plane',
    ...['--config', paths.configArg, ...(paths.builtinConfig ?? [])],
    ...(paths.meshConfigFile ? ['--mesh-config', paths.meshConfigFile] : []),
    ...['--state-dir', paths.stateDir],
    ...['--instances', paths.instancesFile],
    ...['--bind', LOOPBACK],
    ...['--grpc-port', String(plan.grpcPort)],
    ...['--grpc-tls-port', String(plan.grpcTlsPort)],
    ...['--http-port', String(plan.httpPort)],
  ];
  for (const p of plan.gateway.ports) args.push('--gateway-port', `${p.port}=${p.hostPort}`);
  return args;
}

export function proxyArgs(
  p: GatewayPlan | InstancePlan,
  type: 'sidecar' | 'router',
  plan: MeshPlan,
  readyFile: string,
): string[] {
  const labels = Object.entries(p.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [
    'proxy',
    ...['--type', type],
    ...['--name', p.name],
    ...['--namespace', p.namespace],
    ...['--workload', p.workloadName],
    ...['--service-account', p.serviceAccount],
    ...(labels ? ['--labels', labels] : []),
    ...xdsArgs(p.name, plan),
    ...['--admin-port', String(p.adminPort)],
    ...['--status-port', String(p.statusPort)],
    ...['--ip', LOOPBACK],
    ...['--ready-file', readyFile],
  ];
}

/** A proxy's bootstrap token file (the launcher re-mints it before each start). */
export function tokenFile(tokensDir: string, proxyName: string): string {
  return path.join(tokensDir, `${proxyName}.jwt`);
}

/** xDS over TLS with a CA identity when the plan has security, plaintext otherwise. */
function xdsArgs(name: string, plan: MeshPlan): string[] {
  const sec = plan.security;
  if (!sec) return ['--xds', `${LOOPBACK}:${plan.grpcPort}`];
  return [
    ...['--xds', `${LOOPBACK}:${plan.grpcTlsPort}`],
    ...['--ca-root-cert', sec.rootCertFile],
    ...['--token-file', tokenFile(sec.tokensDir, name)],
    ...['--trust-domain', sec.trustDomain],
  ];
}

/** `skiff proxy --type router ...` for the ingress gateway. */
export function routerArgs(plan: MeshPlan, readyFile: string): string[] {
  return proxyArgs(plan.gateway, 'router', plan, readyFile);
}

/** `skiff proxy --type sidecar ...`: an inbound listener per port, the outbound HTTP proxy. */
export function sidecarArgs(inst: InstancePlan, plan: MeshPlan, readyFile: string): string[] {
  const args = proxyArgs(inst, 'sidecar', plan, readyFile);
  for (const p of inst.ports) {
    args.push('--inbound', `${p.containerPort}:${p.name}:${p.listenPort}:${p.appPort}`);
  }
  args.push('--outbound-port', String(inst.outboundPort));
  if (inst.appMetricsUrl) args.push('--app-metrics', inst.appMetricsUrl);
  return args;
}
