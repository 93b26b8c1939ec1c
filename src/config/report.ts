// Collects the problems of one document, each with its file, line, kind, name and field path.
import type { ConfigProblem, Severity } from './resource.js';
import { formatPath } from './locate.js';
import type { FieldPath, Locator } from './locate.js';

/** Which line a problem points at: the field's key (bad or unknown field) or its value (bad value). */
export type LineOf = 'key' | 'value';

export interface ReportContext {
  readonly file: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly locator: Locator;
}

export class Reporter {
  readonly problems: ConfigProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly ctx: ReportContext) {}

  get errorCount(): number {
    return this.problems.filter((p) => p.severity === 'error').length;
  }

  error(path: FieldPath, message: string, at: LineOf = 'value'): void {
    this.add('error', path, message, at);
  }

  warn(path: FieldPath, message: string, at: LineOf = 'value'): void {
    this.add('warning', path, message, at);
  }

  /** A problem about the whole document, at its first line. */
  documentError(message: string, field: FieldPath = []): void {
    this.push('error', this.ctx.locator.documentLine, formatPath(field), message);
  }

  documentWarning(message: string, field: FieldPath = []): void {
    this.push('warning', this.ctx.locator.documentLine, formatPath(field), message);
  }

  /** A problem at a line found some other way (inside YAML embedded in a string value). */
  atLine(severity: Severity, line: number, path: FieldPath, message: string): void {
    this.push(severity, line, formatPath(path), message);
  }

  private add(severity: Severity, path: FieldPath, message: string, at: LineOf): void {
    const { locator } = this.ctx;
    const line = at === 'key' ? locator.keyLine(path) : locator.valueLine(path);
    this.push(severity, line, formatPath(path), message);
  }

  private push(severity: Severity, line: number, field: string, message: string): void {
    // The same fact found twice (by two checks, or schema alternatives) is reported once.
    const key = `${severity}\0${line}\0${field}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const { file, kind, namespace, name } = this.ctx;
    this.problems.push({ severity, file, line, kind, namespace, name, field, message });
  }
}
