// Small helpers shared by bench/run.mjs and the child benchmarks in bench/node/.
// Protocol: every child benchmark logs to stderr and prints exactly one line `BENCH_JSON {...}` on stdout.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
export const PYTHON = '/usr/bin/python3';

/** Median of a list of numbers (upper median for even lengths). */
export function median(xs) {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** `--key value` / `--flag` parser; numbers stay strings (callers convert). */
export function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

/** Prints the child's result line. */
export function emit(result) {
  process.stdout.write(`BENCH_JSON ${JSON.stringify(result)}\n`);
}

/** Peak resident set size of this process, MiB (`process.resourceUsage().maxRSS` is in KiB). */
export function peakRssMiB() {
  return process.resourceUsage().maxRSS / 1024;
}

/** CPU model from /proc/cpuinfo (falls back to os.cpus()). */
export function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

export function nproc() {
  try {
    return Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    return cpus().length;
  }
}

/** `git rev-parse --short HEAD`, with `-dirty` when the work tree has changes. */
export function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim().length > 0;
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function loadAverage() {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}
