// `skiff control-plane`: runs the control plane in this process until SIGTERM/SIGINT (or, with
// --exit-with-parent, until the launcher that started it is gone).
import path from 'node:path';
import type { ControlPlaneOptions } from '../control-plane/options.js';
import { parseGatewayPorts, parseNonNegativeInt, parsePort } from './flags.js';
import type { CliIO } from './io.js';
import { serveUntilStopped } from './lifecycle.js';

export interface ControlPlaneFlags {
  config: string[];
  stateDir: string;
  bind: string;
  grpcPort: string;
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
    httpPort: parsePort(flags.httpPort, '--http-port'),
    gatewayPorts: parseGatewayPorts(flags.gatewayPort),
    ...(flags.instances ? { instancesFile: path.resolve(flags.instances) } : {}),
    ...(flags.meshConfig ? { meshConfigFile: path.resolve(flags.meshConfig) } : {}),
    debounceMs: parseNonNegativeInt(flags.debounceMs, '--debounce-ms'),
  };
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
