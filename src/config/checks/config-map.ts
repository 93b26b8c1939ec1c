// Kubernetes `v1 ConfigMap`: skiff reads one, Istio's mesh config (`istio` in istio-system, key
// `mesh`, a MeshConfig as YAML text). Its problems point at the lines inside that text.
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigMapSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import { Locator } from '../locate.js';
import { MESH_CONFIG_MAP, readMeshConfig } from '../mesh-config.js';
import type { MeshConfigOverlay, MeshConfigSink } from '../mesh-config.js';
import { S } from '../shape.js';
import type { Shape } from '../shape.js';
import { isObject } from './common.js';
import type { CheckContext } from './common.js';

/** A ConfigMap's top-level fields (ConfigMaps have no spec). */
export const CONFIG_MAP_FIELDS: Readonly<Record<string, Shape>> = {
  data: S.map(S.string),
  binaryData: S.map(S.string),
  immutable: S.boolean,
};

export function normalizeConfigMap(obj: Record<string, unknown>): ConfigMapSpec {
  const data = isObject(obj['data']) ? (obj['data'] as Record<string, string>) : {};
  return {
    data,
    ...(typeof obj['immutable'] === 'boolean' ? { immutable: obj['immutable'] } : {}),
  };
}

/** How problems inside embedded MeshConfig text reach the document's report. */
export interface EmbeddedSink {
  /** Reports at a line of the outer file, field given from the outer document's root. */
  at(severity: 'error' | 'warning', line: number, field: FieldPath, message: string): void;
}

/**
 * Parses MeshConfig YAML text and validates it; `firstLine` is the line of the file where the
 * text's line 1 sits, `prefix` the field path of the text in its document.
 */
export function checkMeshConfigText(
  text: string,
  opts: { firstLine: number; prefix: FieldPath; sink: EmbeddedSink },
): MeshConfigOverlay {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const { firstLine, prefix, sink } = opts;
  const shift = (line: number) => firstLine + line - 1;
  if (doc.errors.length > 0) {
    for (const e of doc.errors)
      sink.at(
        'error',
        shift(lineCounter.linePos(e.pos[0]).line),
        prefix,
        `YAML syntax error: ${e.message}`,
      );
    return {};
  }
  const locator = new Locator(doc, lineCounter, 1);
  const report = (severity: 'error' | 'warning') => (path: FieldPath, message: string) => {
    const line = severity === 'error' ? locator.valueLine(path) : locator.keyLine(path);
    sink.at(severity, shift(line), [...prefix, ...path], message);
  };
  const meshSink: MeshConfigSink = { error: report('error'), warn: report('warning') };
  return readMeshConfig(doc.toJS({ maxAliasCount: 100 }), meshSink);
}

/** The `mesh` key of Istio's ConfigMap; other keys (meshNetworks, ...) are warned about. */
export function checkMeshConfigMap(
  obj: Record<string, unknown>,
  ctx: CheckContext & { locator: Locator; sink: EmbeddedSink },
): void {
  const data = normalizeConfigMap(obj).data;
  const text = data[MESH_CONFIG_MAP.key];
  for (const key of Object.keys(data)) {
    if (key !== MESH_CONFIG_MAP.key)
      ctx.report.warn(['data', key], 'not applied by skiff yet', 'key');
  }
  if (text === undefined) {
    ctx.report.warn(
      ['data'],
      `Istio's mesh config has no "${MESH_CONFIG_MAP.key}" key: Istio's defaults apply`,
      'key',
    );
    return;
  }
  const path = ['data', MESH_CONFIG_MAP.key];
  // A block scalar (`mesh: |`) starts on the line after its key; a one-line value on its own.
  const valueLine = ctx.locator.valueLine(path);
  const firstLine = text.includes('\n') ? valueLine + 1 : valueLine;
  checkMeshConfigText(text, { firstLine, prefix: path, sink: ctx.sink });
}
