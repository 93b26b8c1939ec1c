// The last lines of a child's log, quoted in errors so that a failed start explains itself.
import { readFileSync } from 'node:fs';

export function logTail(file: string, lines = 10): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const tail = text.trimEnd().split('\n').slice(-lines);
  return tail.length && tail[0] ? '\n' + tail.map((l) => `    | ${l}`).join('\n') : '';
}
