// A finished span, as both encoders (Zipkin v2, OTLP) read it. Built only for sampled requests.

export type SpanKind = 'SERVER' | 'CLIENT';

export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  readonly traceState: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** Microseconds since the epoch. */
  readonly startUs: number;
  readonly durationUs: number;
  /** Tag name → value, in the order they were set. */
  readonly tags: Readonly<Record<string, string>>;
  readonly error: boolean;
  /** Zipkin's localEndpoint.serviceName (Envoy's local cluster name). */
  readonly serviceName: string;
}

/** Now in microseconds since the epoch, with sub-millisecond precision. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
