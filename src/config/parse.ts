// Reads Istio/Kubernetes/skiff YAML (multi-document text, files, directories) into validated
// resources and a list of problems, each with the line it is about.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { ensureFieldTable } from './fields.js';
import { Locator } from './locate.js';
import type { ConfigProblem, ConfigResource } from './resource.js';
import { DEFAULT_NAMESPACE } from './resource.js';
import { validateDocument } from './validate.js';

export interface ParseResult {
  /** Resources without errors (they may have warnings), in the order they were read. */
  readonly resources: ConfigResource[];
  /** Every error and warning. */
  readonly problems: ConfigProblem[];
}

export interface ParseOptions {
  /** Namespace of resources that do not name one; `default` when absent. */
  readonly defaultNamespace?: string;
}

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

function fileProblem(file: string, line: number, message: string): ConfigProblem {
  return { severity: 'error', file, line, kind: '', namespace: '', name: '', field: '', message };
}

/** Parses and validates every document of `text`; `file` names it in problems and sources. */
export function parseConfigText(text: string, file: string, opts: ParseOptions = {}): ParseResult {
  ensureFieldTable();
  const defaultNamespace = opts.defaultNamespace ?? DEFAULT_NAMESPACE;
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const resources: ConfigResource[] = [];
  const problems: ConfigProblem[] = [];
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  // parseAllDocuments returns an empty stream (not an array) for text without documents.
  if (!Array.isArray(docs)) return { resources, problems };
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        problems.push(fileProblem(file, lineOf(e.pos[0]), `YAML syntax error: ${e.message}`));
      continue;
    }
    const contents = doc.contents;
    // A document of nothing but comments, or an explicit null, is skipped.
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    const documentLine = lineOf(contents.range[0]);
    const locator = new Locator(doc, lineCounter, documentLine);
    for (const w of doc.warnings) {
      problems.push({
        ...fileProblem(file, lineOf(w.pos[0]), `YAML: ${w.message}`),
        severity: 'warning',
      });
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    const result = validateDocument({ value, file, locator, defaultNamespace });
    problems.push(...result.problems);
    if (result.resource) resources.push(result.resource);
  }
  return { resources, problems };
}

/** Parses one file (a missing or unreadable file is a problem, not an exception). */
export async function parseConfigFile(file: string, opts: ParseOptions = {}): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { resources: [], problems: [fileProblem(file, 0, describeFsError(err))] };
  }
  return parseConfigText(text, file, opts);
}

/**
 * Loads files and directories (recursively: `.yaml`, `.yml`, `.json`, in sorted order, skipping
 * dot-directories and node_modules). In a directory, `.json` files that are not Kubernetes-style
 * objects (package.json, tsconfig.json next to an app's manifests) are skipped.
 */
export async function loadConfigPaths(
  paths: readonly string[],
  opts: ParseOptions = {},
): Promise<ParseResult> {
  const resources: ConfigResource[] = [];
  const problems: ConfigProblem[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      problems.push(fileProblem(p, 0, describeFsError(err)));
      continue;
    }
    const files = isDir ? await listConfigFilesIn(p) : [p];
    for (const file of files) {
      const result = await parseConfigFile(file, opts);
      if (isDir && file.endsWith('.json') && !looksLikeKubernetesJson(result)) continue;
      resources.push(...result.resources);
      problems.push(...result.problems);
    }
  }
  return { resources, problems };
}

/** Whether a `.json` file found in a directory was meant as config (has a kind). */
export function isConfigResult(result: ParseResult): boolean {
  return looksLikeKubernetesJson(result);
}

/**
 * The config files under `paths` (files as given, directories walked as loadConfigPaths does);
 * `dirFiles` holds those found by walking a directory. Missing paths are skipped.
 */
export async function listConfigFiles(
  paths: readonly string[],
): Promise<{ files: string[]; dirFiles: Set<string> }> {
  const files: string[] = [];
  const dirFiles = new Set<string>();
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) {
      files.push(p);
      continue;
    }
    for (const f of await listConfigFilesIn(p)) {
      files.push(f);
      dirFiles.add(f);
    }
  }
  return { files, dirFiles };
}

function looksLikeKubernetesJson(result: ParseResult): boolean {
  // Anything with a kind (a resource, or a problem naming its kind) was meant as config.
  return result.resources.length > 0 || result.problems.some((p) => p.kind !== '');
}

async function listConfigFilesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.') && e.name !== 'node_modules')
        out.push(...(await listConfigFilesIn(full)));
    } else if (e.isFile() && CONFIG_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
      out.push(full);
    }
  }
  return out;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot read: ${(err as Error).message}`;
}
