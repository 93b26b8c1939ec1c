// What `skiff proxy` is started with (the CLI parses flags into this).
import type { ProxyNode } from '../xds/node.js';

export interface ProxyOptions {
  readonly node: ProxyNode;
  /** The control plane's xDS address, host:port. */
  readonly xdsAddress: string;
  /** Admin HTTP port (Istio's 15000); 0 picks a free one. */
  readonly adminPort: number;
  /** Address the admin server binds. */
  readonly adminBind: string;
  /** Written once the admin server listens: `{ pid, adminAddress }`. */
  readonly readyFile?: string;
  /** Where log lines go; stderr with a timestamp by default. */
  readonly log?: (line: string) => void;
}
