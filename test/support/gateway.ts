// The ingress gateway route most end-to-end tests need: a Gateway `ingress` on the mesh's
// ingress gateway, plain HTTP on port 80 for `host`, and a VirtualService bound to it that sends
// everything to `service`.

export function httpIngress(o: {
  /** The VirtualService's name. */
  readonly name: string;
  /** Host as the gateway and the VirtualService match it (`"*"` for any). */
  readonly host: string;
  /** The destination service. */
  readonly service: string;
  readonly namespace?: string;
}): string {
  const ns = o.namespace ? `, namespace: ${o.namespace}` : '';
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ingress${ns} }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [${o.host}] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${o.name}${ns} }
spec:
  hosts: [${o.host}]
  gateways: [ingress]
  http: [{ route: [{ destination: { host: ${o.service} } }] }]`;
}
