// The protocol of a workload port, for its inbound listener and cluster. Istio takes it from the
// Service port that targets the pod's port; in local mode a Workload's own port name (or
// appProtocol-style prefix: `tcp-db`, `grpc`) says it too, and is known before the instance is
// an endpoint, so a TCP port is never treated as HTTP while its Service is still catching up.
import type { InboundPort, ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Protocol } from '../model/protocol.js';
import { protocolOfServicePort } from '../model/protocol.js';

export function inboundProtocol(node: ProxyNode, port: InboundPort, model: MeshModel): Protocol {
  const own = protocolOfServicePort({ name: port.name, port: port.containerPort });
  if (own !== 'Unsupported') return own;
  // The service ports this instance is an endpoint of (once it is ready).
  for (const svc of model.services.values()) {
    for (const sp of svc.ports) {
      const eps = model.endpointsOf(svc.hostname, sp.port);
      if (eps.some((ep) => ep.address === node.ip && ep.port === port.listenPort))
        return sp.protocol;
    }
  }
  return 'Unsupported';
}
