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
  readonly metadata: Readonly<Obj>;
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
      const lbEndpoints = (group['lb_endpoints'] as Obj[] | undefined) ?? [];
      lbEndpoints.forEach((lbe, i) =>
        inField(`lb_endpoints[${i}]`, () => {
          const socket = ((lbe['endpoint'] as Obj | undefined)?.['address'] as Obj | undefined)?.[
            'socket_address'
          ] as Obj | undefined;
          const address = socket?.['address'];
          const port = Number(socket?.['port_value']);
          if (typeof address !== 'string' || !address)
            throw new ConfigError('endpoint.address.socket_address.address', 'required');
          if (!Number.isInteger(port) || port <= 0 || port > 65535)
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
            metadata: (lbe['metadata'] as Obj | undefined) ?? {},
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
