import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EXIT, RoadError } from './errors.js';

/** What `run.lock` holds: who is training in the folder. */
export interface RunLockInfo {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux /proc/<pid>/stat field 22): tells a reused pid apart. */
  startTicks: number | null;
  since: string;
}

/** A held lock; {@link RunLock.release} removes it (also called on process exit). */
export interface RunLock {
  path: string;
  release(): void;
}

/** Start time of a process in clock ticks since boot, or null where /proc is not there (not Linux) or it is gone. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote `info` is still running (same host only; another host's lock counts as live). */
export function lockHolderAlive(info: RunLockInfo): boolean {
  if (info.host !== hostname()) return true;
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    return true; // EPERM: someone else's live process
  }
  const ticks = processStartTicks(info.pid);
  // the pid is taken, but by a process started at another time: the holder is gone and its pid reused
  return !(info.startTicks != null && ticks != null && ticks !== info.startTicks);
}

/**
 * Takes `run.lock` in a run folder so that one trainer at a time writes there. The file is created exclusively; if
 * it exists, its holder is checked: a live one (this host: the pid runs and started when the lock says; another
 * host: always assumed live) makes this a clear error naming it, a dead one (a kill -9, a crash, a preempted node
 * on this host) is replaced.
 */
export function acquireRunLock(dir: string): RunLock {
  const path = join(dir, 'run.lock');
  const info: RunLockInfo = {
    pid: process.pid,
    host: hostname(),
    startTicks: processStartTicks(process.pid),
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      return holding(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let held: RunLockInfo | null = null;
    try {
      held = JSON.parse(readFileSync(path, 'utf8')) as RunLockInfo;
    } catch {
      held = null; // empty or half-written by a process killed while writing it: stale
    }
    if (held && lockHolderAlive(held))
      throw new RoadError(
        `run folder ${dir} is in use by another trainer (pid ${held.pid} on ${held.host}, since ${held.since}); ` +
          `wait for it, or delete ${path} if that process is gone`,
        EXIT.badInput,
      );
    // Stale: replace it atomically (a rival that also found it stale loses the rename race only harmlessly:
    // both then re-check through the exclusive create of the next attempt).
    const tmp = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, tmp);
      rmSync(tmp, { force: true });
    } catch {
      // someone else removed it first: try again
    }
  }
  throw new RoadError(`could not take ${path}: another trainer keeps taking it`, EXIT.badInput);
}

function holding(path: string): RunLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      const held = JSON.parse(readFileSync(path, 'utf8')) as RunLockInfo;
      if (held.pid === process.pid) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return { path, release };
}
