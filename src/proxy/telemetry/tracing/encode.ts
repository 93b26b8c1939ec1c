// Span encodings on the wire: Zipkin API v2 JSON (zipkin.io/zipkin-api, POST /api/v2/spans) and
// OTLP/JSON (opentelemetry-proto ExportTraceServiceRequest in its JSON mapping: ids as hex,
// 64-bit times as decimal strings, enums as numbers; POST /v1/traces).
import type { FinishedSpan } from './span.js';

export function zipkinJson(spans: readonly FinishedSpan[], traceId128: boolean): string {
  return JSON.stringify(
    spans.map((s) => ({
      traceId: traceId128 ? s.traceId : s.traceId.slice(16),
      id: s.spanId,
      ...(s.parentId ? { parentId: s.parentId } : {}),
      name: s.name,
      kind: s.kind,
      timestamp: s.startUs,
      duration: Math.max(1, s.durationUs),
      localEndpoint: { serviceName: s.serviceName },
      tags: s.tags,
    })),
  );
}

/** OTLP SpanKind: SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3. */
const OTLP_KIND = { SERVER: 2, CLIENT: 3 } as const;

function attr(key: string, value: string): { key: string; value: { stringValue: string } } {
  return { key, value: { stringValue: value } };
}

export function otlpJson(spans: readonly FinishedSpan[], serviceName: string): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', serviceName)] },
        scopeSpans: [
          {
            scope: { name: 'skiff' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentId ? { parentSpanId: s.parentId } : {}),
              ...(s.traceState ? { traceState: s.traceState } : {}),
              name: s.name,
              kind: OTLP_KIND[s.kind],
              startTimeUnixNano: `${s.startUs}000`,
              endTimeUnixNano: `${s.startUs + Math.max(1, s.durationUs)}000`,
              attributes: Object.entries(s.tags).map(([k, v]) => attr(k, v)),
              // STATUS_CODE_ERROR = 2; unset otherwise (OTel's HTTP server semantics).
              ...(s.error ? { status: { code: 2 } } : {}),
            })),
          },
        ],
      },
    ],
  });
}
