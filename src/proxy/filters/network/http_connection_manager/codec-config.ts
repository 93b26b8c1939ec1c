// The HTTP connection manager's codec settings: which HTTP versions a listener speaks
// (codec_type, AUTO by default: HTTP/1.1 and HTTP/2 prior knowledge on one port) and which
// upgrades it lets through (upgrade_configs: websocket, CONNECT, ...).
import { ConfigError } from '../../../config-error.js';

type Obj = Record<string, unknown>;

export type CodecType = 'AUTO' | 'HTTP1' | 'HTTP2';

export interface CodecOptions {
  readonly codecType: CodecType;
  /** Upgrade types enabled on the connection manager, lower-cased (`websocket`, `connect`). */
  readonly upgradeTypes: ReadonlySet<string>;
}

const CODECS = new Set<string>(['AUTO', 'HTTP1', 'HTTP2']);

export function compileCodecOptions(typed: Obj): CodecOptions {
  const codecType = String(typed['codec_type'] ?? 'AUTO');
  if (!CODECS.has(codecType))
    throw new ConfigError('codec_type', `${codecType} is not supported (AUTO, HTTP1, HTTP2)`);
  const upgradeTypes = new Set<string>();
  ((typed['upgrade_configs'] as Obj[] | undefined) ?? []).forEach((u, i) => {
    const type = String(u['upgrade_type'] ?? '').toLowerCase();
    if (!type) throw new ConfigError(`upgrade_configs[${i}].upgrade_type`, 'required');
    if ((u['filters'] as unknown[] | undefined)?.length)
      throw new ConfigError(
        `upgrade_configs[${i}].filters`,
        'per-upgrade filter chains are not supported',
      );
    // HttpConnectionManager.UpgradeConfig.enabled defaults to true.
    if (u['enabled'] !== false) upgradeTypes.add(type);
  });
  return { codecType: codecType as CodecType, upgradeTypes };
}

/** RouteAction.upgrade_configs: per-route overrides, and CONNECT termination (connect_config). */
export interface RouteUpgrades {
  /** Upgrade type (lower-cased) → enabled, where the route overrides the connection manager. */
  readonly enabled: ReadonlyMap<string, boolean>;
  /** CONNECT is terminated here: Envoy answers 200 and proxies the payload as raw TCP. */
  readonly terminateConnect: boolean;
}

export const NO_ROUTE_UPGRADES: RouteUpgrades = Object.freeze({
  enabled: new Map<string, boolean>(),
  terminateConnect: false,
});

export function compileRouteUpgrades(list: Obj[] | undefined): RouteUpgrades {
  if (!list?.length) return NO_ROUTE_UPGRADES;
  const enabled = new Map<string, boolean>();
  let terminateConnect = false;
  list.forEach((u, i) => {
    const type = String(u['upgrade_type'] ?? '').toLowerCase();
    if (!type) throw new ConfigError(`upgrade_configs[${i}].upgrade_type`, 'required');
    enabled.set(type, u['enabled'] !== false);
    const cc = u['connect_config'] as Obj | undefined;
    if (cc) {
      if (type !== 'connect')
        throw new ConfigError(`upgrade_configs[${i}].connect_config`, 'only for CONNECT');
      if (cc['proxy_protocol_config'])
        throw new ConfigError(
          `upgrade_configs[${i}].connect_config.proxy_protocol_config`,
          'is not supported',
        );
      // allow_post (CONNECT over POST) is for HTTP/2 upstreams: not supported.
      if (cc['allow_post'] === true)
        throw new ConfigError(
          `upgrade_configs[${i}].connect_config.allow_post`,
          'is not supported',
        );
      terminateConnect = true;
    }
  });
  return { enabled, terminateConnect };
}

/**
 * Envoy's rule (HTTP upgrades, "upgrades can be enabled or disabled on a per-route basis"): the
 * route's setting wins where it has one, else the connection manager's.
 */
export function upgradeEnabled(
  type: string,
  hcm: CodecOptions,
  route: RouteUpgrades | undefined,
): boolean {
  return route?.enabled.get(type) ?? hcm.upgradeTypes.has(type);
}
