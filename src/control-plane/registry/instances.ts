// Running instances of skiff Workloads: what the launcher reports to the control plane, as the
// kubelet reports pods. Each becomes an endpoint of the Services that select its labels.
import type { InboundPort } from '../../xds/node.js';

export interface WorkloadInstance {
  /** Pod-like name: `<workload>-<replica>`, e.g. `reviews-v2-0`. */
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  /** Address of the instance's sidecar (loopback in local mode). */
  readonly address: string;
  /** One per containerPort: listenPort is the endpoint port other proxies connect to. */
  readonly ports: readonly InboundPort[];
  /** False until the app and its sidecar are both up; unready instances are not endpoints. */
  readonly ready: boolean;
}

export interface InstancesFile {
  readonly instances: readonly WorkloadInstance[];
  /**
   * Grows with every write. The control plane reports the one its proxies were last pushed
   * (GET /debug/sync), so a writer can wait until what it wrote is in force everywhere.
   */
  readonly generation?: number;
}
