import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsRow } from './report.js';

/** Paths inside a run folder. */
export function runPaths(dir: string) {
  return {
    dir,
    config: join(dir, 'config.json'),
    metrics: join(dir, 'metrics.jsonl'),
    checkpoints: join(dir, 'checkpoints'),
    eval: join(dir, 'eval'),
    log: join(dir, 'train.log'),
    report: join(dir, 'report.html'),
  };
}

/** Writes a file via temp + rename (readers never see half a file). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Appends one JSON object per line to metrics.jsonl. */
export class MetricsLog {
  constructor(readonly path: string) {}
  append(row: MetricsRow): void {
    appendFileSync(this.path, `${JSON.stringify(row)}\n`);
  }
  /**
   * Drops rows with step > `step` (used on resume: steps after the checkpoint are replayed and logged again).
   */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readMetrics(this.path).filter((r) => r.step <= step);
    writeFileAtomic(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}

/**
 * Reads metrics.jsonl (missing file → []). A last line without its newline is a row a killed process was writing:
 * it is left out (the resumed run writes that step again). Any other bad line is an error naming the file and line.
 */
export function readMetrics(path: string): MetricsRow[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const complete = text.endsWith('\n') ? lines : lines.slice(0, -1);
  return complete.flatMap((l, i) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as MetricsRow];
    } catch {
      throw new Error(`${path}: line ${i + 1} is not JSON: ${l.slice(0, 80)}`);
    }
  });
}

/** Creates the run folder layout. */
export function ensureRunDir(dir: string): ReturnType<typeof runPaths> {
  const p = runPaths(dir);
  for (const d of [p.dir, p.checkpoints, p.eval]) mkdirSync(d, { recursive: true });
  return p;
}
