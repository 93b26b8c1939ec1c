// Whether processes are alive, as the launcher and the CLI need it (a zombie counts as gone).
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * True while `pid` is a running process. A zombie (exited, not yet reaped by whoever inherited
 * it) is not: it holds no port and runs no code, and some init processes reap late.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return procStat(pid)?.state !== 'Z';
}

/** True while any process of the group `pgid` is alive (zombies aside). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (!existsSync('/proc/self/stat')) return true;
  return groupMembers(pgid).some((pid) => procStat(pid)?.state !== 'Z');
}

/** Pids whose process group is `pgid`, read from /proc (Linux). */
export function groupMembers(pgid: number): number[] {
  return allPids().filter((pid) => procStat(pid)?.pgrp === pgid);
}

/** Every pid in /proc (empty without /proc). */
export function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

export interface ProcStat {
  /** R, S, D, Z, T, ... (proc(5)). */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
}

/** The fields of /proc/<pid>/stat we use; undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name sits in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}
