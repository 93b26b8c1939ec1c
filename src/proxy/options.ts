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
  /**
   * The merged metrics port (pilot-agent's status port, Istio's 15020): /stats/prometheus with
   * the proxy's metrics and, with appMetricsUrl, the app's; /healthz/ready. None when absent.
   */
  readonly statusPort?: number;
  /** The app's own metrics, fetched at each scrape of the merged endpoint (prometheus.io/*). */
  readonly appMetricsUrl?: string;
  /** Written once the admin server listens: `{ pid, adminAddress }`. */
  readonly readyFile?: string;
  /**
   * File-mounted workload certificates (Istio's /etc/certs layout: cert-chain.pem, key.pem,
   * root-cert.pem), installed as the `default` and `ROOTCA` secrets at start.
   */
  readonly identityDir?: string;
  /**
   * Certificates from the control plane's CA (Istio's agent): with this, xDS runs over TLS to
   * `xdsAddress` (checked against the root) and the identity is fetched before xDS starts.
   */
  readonly ca?: {
    /** The trust bundle (Istio's istio-ca-root-cert). */
    readonly rootCertFile: string;
    /** The CA's TLS address; the xDS address by default (Istio's CA_ADDR). */
    readonly address?: string;
    readonly tokenFile?: string;
    readonly token?: string;
    readonly trustDomain: string;
  };
  /** Where log lines go; stderr with a timestamp by default. */
  readonly log?: (line: string) => void;
}
