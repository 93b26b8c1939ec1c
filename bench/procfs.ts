// What the benchmark reads from /proc about the proxies it measures: CPU time (utime + stime,
// proc(5) /proc/<pid>/stat fields 14 and 15) and resident memory (VmRSS in /proc/<pid>/status).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { groupMembers } from '../src/launcher/pids.js';

/** Clock ticks per second (sysconf(_SC_CLK_TCK)), the unit of utime and stime. */
export function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // no getconf: Linux has used 100 (USER_HZ) on every common architecture
  }
  return 100;
}

/** utime + stime of one /proc/<pid>/stat line, in clock ticks (all threads of the process). */
export function parseCpuTicks(stat: string): number {
  // The command name sits in parentheses and may itself hold spaces or parentheses; after it,
  // field 3 (state) is index 0, so utime (14) and stime (15) are indexes 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The `comm` field of a /proc/<pid>/stat line (the executable's name, 15 characters at most). */
export function parseComm(stat: string): string {
  return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
}

/** VmRSS of a /proc/<pid>/status text, in bytes (0 when absent, as for a zombie). */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process is gone
  }
}

/** CPU ticks used so far by the processes, summed (a process that is gone counts 0). */
export function cpuTicks(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (stat) sum += parseCpuTicks(stat);
  }
  return sum;
}

/** Resident memory of the processes, summed, in bytes. */
export function rssBytes(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const status = read(`/proc/${pid}/status`);
    if (status) sum += parseRssBytes(status);
  }
  return sum;
}

/** The processes of group `pgid` whose executable is `comm` (nginx's master and worker). */
export function groupProcesses(pgid: number, comm: string): number[] {
  return groupMembers(pgid).filter((pid) => {
    const stat = read(`/proc/${pid}/stat`);
    return stat !== undefined && parseComm(stat) === comm;
  });
}
