// Wraps a command that knows nothing of skiff so that it dies with the launcher: a SIGKILLed
// launcher cannot stop its children, but the pipe it held on their stdin closes, and this
// guard (a POSIX sh, a few hundred KB) sees that and ends the whole process group.

// fd 3 keeps the launcher's pipe for the watcher: POSIX sh gives background jobs /dev/null as
// stdin unless they redirect it explicitly. The watcher ignores TERM so that it survives its
// own `kill -TERM 0` long enough to send KILL to whatever ignored the TERM.
const GUARD_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'app=$!',
  "( trap '' TERM INT; while read -r _; do :; done; kill -TERM 0; sleep 2; kill -KILL 0 ) <&3 3<&- &",
  'watch=$!',
  'exec 3<&-',
  'wait "$app"',
  'code=$?',
  'kill -KILL "$watch" 2>/dev/null',
  'exit "$code"',
].join('\n');

/** argv that runs `command` under the guard; give it stdin as a pipe the launcher holds open. */
export function guarded(command: readonly string[]): string[] {
  return ['/bin/sh', '-c', GUARD_SCRIPT, 'skiff-guard', ...command];
}
