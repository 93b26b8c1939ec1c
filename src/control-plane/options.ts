// What `skiff control-plane` is started with (the CLI parses flags into this).

export interface ControlPlaneOptions {
  /** Directories (or files) of Istio/Kubernetes/skiff YAML, watched for changes. */
  readonly configPaths: readonly string[];
  /** Where the control plane keeps what must survive a restart: applied config, CA keys. */
  readonly stateDir: string;
  /** Address every listener binds; loopback by default. */
  readonly bind: string;
  /** xDS (ADS) and CA gRPC port, Istio's 15010; 0 picks a free one. */
  readonly grpcPort: number;
  /**
   * The TLS port (Istio's 15012): ADS and the CA, with a serving certificate signed by the mesh
   * CA; 0 (the default) picks a free one.
   */
  readonly grpcTlsPort?: number;
  /** Plugged-in CA certificates (Istio's cacerts layout); else `<stateDir>/ca`. */
  readonly caCertDir?: string;
  /** Workload certificate lifetime when a CSR asks for none (Istio's 24 h). */
  readonly workloadCertTtlMs?: number;
  /** The longest lifetime a CSR may ask for (Istio's MAX_WORKLOAD_CERT_TTL, 90 days). */
  readonly maxWorkloadCertTtlMs?: number;
  /** HTTP API (apply/get/delete), /debug and /metrics, Istio's 15014; 0 picks a free one. */
  readonly httpPort: number;
  /**
   * Gateway server port → host port for router proxies. Ports not listed map by the local-mode
   * rule: P when P >= 1024, else 8000 + P.
   */
  readonly gatewayPorts: Readonly<Record<number, number>>;
  /**
   * Istio's MeshConfig YAML (as istiod's --meshConfig file, or the `istio` ConfigMap manifest),
   * laid over Istio's defaults; the `istio` ConfigMap in the config overlays it in turn.
   */
  readonly meshConfigFile?: string;
  /** The running instances of Workloads (written by the launcher); optional. */
  readonly instancesFile?: string;
  /** Debounce for config directory changes. */
  readonly debounceMs: number;
  /** Where log lines go; stderr with a timestamp by default. */
  readonly log?: (line: string) => void;
}

/** Written to `<stateDir>/control-plane.json` once the control plane listens. */
export interface ControlPlaneReady {
  readonly pid: number;
  readonly grpcAddress: string;
  /** ADS and CA over TLS (Istio's 15012). */
  readonly grpcTlsAddress?: string;
  /** The mesh's trust bundle (PEM file), what proxies verify the TLS port and peers against. */
  readonly caRootCert?: string;
  readonly httpAddress: string;
}
