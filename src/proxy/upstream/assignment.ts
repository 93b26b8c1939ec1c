// envoy.config.endpoint.v3.ClusterLoadAssignment → the hosts of a cluster.
import { ConfigError, inField } from '../config-error.js';

type Obj = Record<string, unknown>;

export type HealthStatus =
  'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface HostSpec {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly health: HealthStatus;
  /** `region/zone/sub_zone`. */
  readonly locality: string;
  /** The LocalityLbEndpoints' priority (0 is the highest). */
  readonly priority: number;
  /** The LocalityLbEndpoints' load_balancing_weight (0 when unset: no traffic under locality weighting). */
  readonly localityWeight: number;
  readonly metadata: Readonly<Obj>;
  /** The address is an internal listener's name (envoy_internal_address), port 0. */
  readonly internal?: boolean;
}

export interface Assignment {
  readonly clusterName: string;
  readonly hosts: readonly HostSpec[];
}

export function compileAssignment(cla: Obj): Assignment {
  const clusterName = String(cla['cluster_name'] ?? '');
  const hosts: HostSpec[] = [];
  const groups = (cla['endpoints'] as Obj[] | undefined) ?? [];
  groups.forEach((group, g) =>
    inField(`endpoints[${g}]`, () => {
      const loc = (group['locality'] as Obj | undefined) ?? {};
      const locality = [loc['region'], loc['zone'], loc['sub_zone']].filter(Boolean).join('/');
      const priority = Number(group['priority'] ?? 0);
      if (!Number.isInteger(priority) || priority < 0 || priority > 127)
        throw new ConfigError('priority', `invalid priority ${String(group['priority'])}`);
      const localityWeight = Number(group['load_balancing_weight'] ?? 0);
      const lbEndpoints = (group['lb_endpoints'] as Obj[] | undefined) ?? [];
      lbEndpoints.forEach((lbe, i) =>
        inField(`lb_endpoints[${i}]`, () => {
          const endpointAddress = (lbe['endpoint'] as Obj | undefined)?.['address'] as
            Obj | undefined;
          // An internal listener's address (envoy_internal_address): connections to this host
          // are handed to that listener in-process (CONNECT tunnels in local mode).
          const internal = (endpointAddress?.['envoy_internal_address'] as Obj | undefined)?.[
            'server_listener_name'
          ];
          const socket = endpointAddress?.['socket_address'] as Obj | undefined;
          const address = typeof internal === 'string' ? internal : socket?.['address'];
          const port = typeof internal === 'string' ? 0 : Number(socket?.['port_value']);
          if (typeof address !== 'string' || !address)
            throw new ConfigError('endpoint.address.socket_address.address', 'required');
          if (
            typeof internal !== 'string' &&
            (!Number.isInteger(port) || port <= 0 || port > 65535)
          )
            throw new ConfigError(
              'endpoint.address.socket_address.port_value',
              `invalid port ${String(socket?.['port_value'])}`,
            );
          hosts.push({
            address,
            port,
            weight: Number(lbe['load_balancing_weight'] ?? 1) || 1,
            health: String(lbe['health_status'] ?? 'UNKNOWN') as HealthStatus,
            locality,
            priority,
            localityWeight,
            metadata: (lbe['metadata'] as Obj | undefined) ?? {},
            ...(typeof internal === 'string' ? { internal: true } : {}),
          });
        }),
      );
    }),
  );
  return { clusterName, hosts };
}

/** Envoy routes to HEALTHY, UNKNOWN and DEGRADED hosts; never to UNHEALTHY, DRAINING, TIMEOUT. */
export function isRoutable(h: HostSpec): boolean {
  return h.health === 'HEALTHY' || h.health === 'UNKNOWN' || h.health === 'DEGRADED';
}
