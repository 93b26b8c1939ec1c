// Field paths (`spec.http[0].route[1].weight`) and the YAML lines they point at.
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';

/** A path into a document: object keys and list indexes, from the document's root. */
export type FieldPath = readonly (string | number)[];

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `spec.http[0].route[1].weight`; keys that are not plain words are quoted: `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Finds the lines of fields in one parsed YAML document. */
export class Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** Line of the document's first content, for paths that name nothing in it. */
    readonly documentLine: number,
  ) {}

  /**
   * The line of the key that holds `path` (of the list item, for an index). When the path does not
   * exist (a missing field), the line of its deepest existing ancestor's key.
   */
  keyLine(path: FieldPath): number {
    return this.walk(path).keyLine;
  }

  /** The line where the value at `path` starts; for a missing field, as keyLine. */
  valueLine(path: FieldPath): number {
    const found = this.walk(path);
    return found.complete ? found.valueLine : found.keyLine;
  }

  private line(offset: number | undefined): number {
    return offset === undefined ? this.documentLine : this.lines.linePos(offset).line;
  }

  private walk(path: FieldPath): { keyLine: number; valueLine: number; complete: boolean } {
    let node: unknown = this.doc.contents;
    let keyLine = this.documentLine;
    let valueLine = this.nodeLine(node) ?? keyLine;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      let nextKeyLine: number | undefined;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(seg),
        );
        if (pair) {
          next = pair.value;
          nextKeyLine = this.nodeLine(pair.key) ?? keyLine;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
        nextKeyLine = next === undefined ? undefined : this.nodeLine(next);
      }
      if (nextKeyLine === undefined) return { keyLine, valueLine, complete: false };
      node = next;
      keyLine = nextKeyLine;
      valueLine = this.nodeLine(node) ?? keyLine;
    }
    return { keyLine, valueLine, complete: true };
  }

  private nodeLine(node: unknown): number | undefined {
    const range = (node as Node | null | undefined)?.range;
    return range ? this.line(range[0]) : undefined;
  }
}
