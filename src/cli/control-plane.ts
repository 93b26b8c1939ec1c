// `skiff control-plane`: runs the control plane in this process until SIGTERM/SIGINT (or, with
// --exit-with-parent, until the launcher that started it is gone).
import path from 'node:path';
import type { ControlPlaneOptions } from '../control-plane/options.js';
import { parseGatewayPorts, parseNonNegativeInt, parsePort } from './flags.js';
import { parseDuration } from '../config/checks/duration.js';
import { UsageError, type CliIO } from './io.js';
import { serveUntilStopped } from './lifecycle.js';

export interface ControlPlaneFlags {
  config: string[];
  stateDir: string;
  bind: string;
  grpcPort: string;
  grpcTlsPort?: string;
  caCertDir?: string;
  workloadCertTtl?: string;
  maxWorkloadCertTtl?: string;
  httpPort: string;
  gatewayPort: string[];
  instances?: string;
  meshConfig?: string;
  debounceMs: string;
  exitWithParent?: boolean;
}

export function controlPlaneOptions(flags: ControlPlaneFlags): ControlPlaneOptions {
  return {
    configPaths: flags.config,
    stateDir: path.resolve(flags.stateDir),
    bind: flags.bind,
    grpcPort: parsePort(flags.grpcPort, '--grpc-port'),
    // Istio's 15012 beside the default 15010; beside a chosen port, a free one (no collisions).
    grpcTlsPort: parsePort(
      flags.grpcTlsPort ?? (flags.grpcPort === '15010' ? '15012' : '0'),
      '--grpc-tls-port',
    ),
    ...(flags.caCertDir ? { caCertDir: path.resolve(flags.caCertDir) } : {}),
    ...certTtls(flags),
    httpPort: parsePort(flags.httpPort, '--http-port'),
    gatewayPorts: parseGatewayPorts(flags.gatewayPort),
    ...(flags.instances ? { instancesFile: path.resolve(flags.instances) } : {}),
    ...(flags.meshConfig ? { meshConfigFile: path.resolve(flags.meshConfig) } : {}),
    debounceMs: parseNonNegativeInt(flags.debounceMs, '--debounce-ms'),
  };
}

/** --workload-cert-ttl (else istiod's DEFAULT_WORKLOAD_CERT_TTL env) and --max-workload-cert-ttl. */
function certTtls(
  flags: ControlPlaneFlags,
): Pick<ControlPlaneOptions, 'workloadCertTtlMs' | 'maxWorkloadCertTtlMs'> {
  const ttl = flags.workloadCertTtl ?? process.env['DEFAULT_WORKLOAD_CERT_TTL'];
  const max = flags.maxWorkloadCertTtl ?? process.env['MAX_WORKLOAD_CERT_TTL'];
  return {
    ...(ttl ? { workloadCertTtlMs: durationFlag(ttl, '--workload-cert-ttl') } : {}),
    ...(max ? { maxWorkloadCertTtlMs: durationFlag(max, '--max-workload-cert-ttl') } : {}),
  };
}

export function durationFlag(text: string, flag: string): number {
  const d = parseDuration(text);
  if (!d.ok || d.seconds <= 0) {
    throw new UsageError(`${flag}: ${d.ok ? `${text} is not positive` : d.message}`);
  }
  return d.seconds * 1000;
}

export async function controlPlane(flags: ControlPlaneFlags, io: CliIO): Promise<number> {
  const opts = controlPlaneOptions(flags);
  const { startControlPlane } = await import('../control-plane/main.js');
  const cp = await startControlPlane(opts);
  return serveUntilStopped(() => cp.close(), {
    exitWithParent: flags.exitWithParent === true,
    io,
    name: 'control plane',
  });
}
