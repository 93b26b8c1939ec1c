// One workload instance at run time: its app and its sidecar, and whether both are up (the
// readiness the control plane turns into endpoints), re-probed whenever either restarts.
import { EventEmitter } from 'node:events';
import type { WorkloadInstance } from '../control-plane/registry/instances.js';
import type { InstancePlan } from './plan.js';
import { httpOk, tcpAccepts } from './probes.js';
import type { SupervisedProcess } from './process.js';

const LOOPBACK = '127.0.0.1';

/** Events: `ready` (boolean) whenever readiness changes. */
export class InstanceRunner extends EventEmitter {
  private isReady = false;
  private probing = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Why the last probe failed, for the "did not come up" report. */
  lastProblem = 'not probed yet';

  constructor(
    readonly plan: InstancePlan,
    readonly app: SupervisedProcess,
    readonly sidecar: SupervisedProcess,
  ) {
    super();
    // While either is down the instance is no endpoint; probe again once it is back.
    for (const proc of [app, sidecar]) {
      proc.on('exit', () => {
        this.setReady(false);
        this.lastProblem = `${proc === app ? 'app' : 'sidecar'} exited`;
      });
      proc.on('start', () => void this.probeUntilReady());
    }
  }

  get ready(): boolean {
    return this.isReady;
  }

  start(): void {
    this.sidecar.start();
    this.app.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.all([this.app.stop(), this.sidecar.stop()]);
  }

  /** The entry the control plane reads from the instances file. */
  toInstance(): WorkloadInstance {
    const p = this.plan;
    return {
      name: p.name,
      namespace: p.namespace,
      workloadName: p.workloadName,
      labels: p.labels,
      serviceAccount: p.serviceAccount,
      address: LOOPBACK,
      ports: p.ports,
      ready: this.isReady,
    };
  }

  private setReady(ready: boolean): void {
    if (ready === this.isReady) return;
    this.isReady = ready;
    this.emit('ready', ready);
  }

  /** The app accepts on every port (a TCP probe, as kubelet's) and the sidecar has its config. */
  private async probe(): Promise<boolean> {
    for (const port of this.plan.ports) {
      if (!(await tcpAccepts(LOOPBACK, port.appPort))) {
        this.lastProblem = `app does not accept on port ${port.appPort} (containerPort ${port.containerPort})`;
        return false;
      }
    }
    if (!(await httpOk(`http://${LOOPBACK}:${this.plan.adminPort}/ready`))) {
      this.lastProblem = `sidecar admin ${LOOPBACK}:${this.plan.adminPort}/ready is not 200`;
      return false;
    }
    return true;
  }

  private async probeUntilReady(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let interval = 50;
    try {
      while (!this.stopped && !this.isReady) {
        if (this.app.state !== 'running' || this.sidecar.state !== 'running') break;
        if (await this.probe()) {
          if (this.app.state === 'running' && this.sidecar.state === 'running') this.setReady(true);
          break;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        interval = Math.min(interval * 2, 1000);
      }
    } finally {
      this.probing = false;
      this.wake = undefined;
    }
  }
}
