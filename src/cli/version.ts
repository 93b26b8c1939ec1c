// `skiff version`.
import { SKIFF_VERSION } from '../xds/node.js';
import type { CliIO } from './io.js';

export function version(io: CliIO): number {
  io.log(`skiff ${SKIFF_VERSION} (node ${process.version})`);
  return 0;
}
