import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of a PyTorch twin script (`bench/reference/<name>` at the repository root), or null when absent. */
export function torchScript(name: string): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const f = resolve(here, up, 'bench/reference', name);
    if (existsSync(f)) return f;
  }
  return null;
}

/**
 * Runs the PyTorch twin `bench/reference/<name>` with `args` under `$ROAD_TORCH_PYTHON` (default Debian's
 * /usr/bin/python3) and parses the JSON object it prints last; an error object (with the reason) when it cannot run.
 * `describe` gives the log line in the log line (e.g. "bench digits: PyTorch twin" and the seeds).
 */
export function runTorchTwin<T>(
  name: string,
  args: string[],
  log: (l: string) => void,
  describe: (python: string, script: string) => string,
): T | { error: string } {
  const script = torchScript(name);
  if (!script) return { error: `bench/reference/${name} not found (run from a checkout of the repository)` };
  const python = process.env.ROAD_TORCH_PYTHON ?? '/usr/bin/python3';
  log(describe(python, script));
  const r = spawnSync(python, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) return { error: `${python}: ${r.error.message}` };
  if (r.status !== 0)
    return { error: `${script} exited with ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}` };
  for (const line of (r.stderr ?? '').trim().split('\n')) if (line) log(line);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return { error: `${script} printed no JSON result` };
  }
}
