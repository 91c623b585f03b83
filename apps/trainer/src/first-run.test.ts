import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What a new user sees: `road demo --quick`, `road doctor` and `road --version` run as child processes of the built
// CLI, their whole output held to the first-run rules. Needs apps/trainer/dist (the root `pnpm test` builds it).
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

function road(args: string[], env: Record<string, string> = {}) {
  expect(existsSync(cli), `${cli} missing: build the trainer first`).toBe(true);
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stderr}\n${r.stdout}` };
}

/** Text no first run may show: library noise, and anything that looks like a crash. */
function expectNoNoise(text: string): void {
  expect(text).not.toMatch(/already registered/);
  expect(text).not.toMatch(/Vulkan|Dawn|BackendVk|\/home\/runner|maxDynamic|artificially reduced/);
  expect(text).not.toMatch(/tfjs_binding|WINDOWS_TROUBLESHOOTING|npm rebuild/);
  expect(text).not.toMatch(/Hi there|Looks like you are running TensorFlow\.js in Node\.js/);
  expect(text).not.toMatch(/^\s+at .+:\d+(:\d+)?\)?$/m); // a stack frame
  expect(text).not.toMatch(/Error:|Warning:|unexpected error/);
}

describe('first run', () => {
  it('road demo --quick: one engine line, then the run; no library noise; the table says it is a smoke test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-first-run-'));
    // A fresh cache: the teacher is pretrained too, as on a new machine.
    const r = road(['demo', '--quick', '--out', join(dir, 'demo')], { ROAD_CACHE: join(dir, 'cache') });
    expect(r.code, r.all).toBe(0);
    expectNoNoise(r.all);
    const err = r.stderr.trimEnd().split('\n');
    const start = err.findIndex((l) => l.startsWith('demo (quick):'));
    // Before the run starts: the engine line only (one line, short), nothing else.
    expect(start, r.stderr).toBe(1);
    expect(err[0]).toMatch(
      /^backend: \w[\w-]*( \+ native kernels \(\d+ threads, [\w-]+\)| \(native kernels off: [^)]+\))?(; skipped .+)?$/,
    );
    expect(err[0].length).toBeLessThanOrEqual(200);
    // Not a TTY here: progress is one plain line per 25 steps and at the end (20 steps: the last one only).
    expect(err.filter((l) => /^(pretrain|source-only|road) \d+\/\d+ eta /.test(l))).toHaveLength(3);
    expect(r.stdout).toMatch(/\| class — SMOKE TEST \(--quick, 20 steps\) \| source-only \| road \|/);
    expect(r.stdout).toMatch(/these numbers mean nothing/);
    expect(r.stdout).toMatch(/ROAD − source-only: [+-]\d+\.\d mIoU points \(smoke test: not a result/);
  });

  it('road demo --quick -q: no progress lines at all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-first-run-q-'));
    const r = road(['demo', '--quick', '-q', '--out', join(dir, 'demo')], { ROAD_CACHE: join(dir, 'cache') });
    expect(r.code, r.all).toBe(0);
    expect(r.stderr).not.toMatch(/ \d+\/\d+ eta /);
    expectNoNoise(r.all);
  });

  it('road --version prints the version; road doctor prints versions, each skip with how to get it, no noise', () => {
    const v = road(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const d = road(['doctor', '--steps', '2']);
    expect(d.code, d.all).toBe(0);
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(
      new RegExp(`^road ${v.stdout.trim().replace(/\./g, '\\.')} · tfjs \\d+\\.\\d+\\.\\d+ · Node v\\d+`),
    );
    expect(d.stdout).toMatch(/^native kernels: /m);
    expect(d.stdout).toMatch(/^engine in use: \w/m);
    // Each skipped engine: a short reason, the full one, and how to get it.
    const section = d.stdout.split('faster engines skipped:\n')[1]?.split('\n\n')[0] ?? '';
    const heads = [...section.matchAll(/^ {2}([\w-]+): (.+)$/gm)].map((m) => m[1]);
    expect(section.match(/^ {4}why: /gm)?.length ?? 0).toBe(heads.length);
    expect(section.match(/^ {4}to get it: /gm)?.length ?? 0).toBe(heads.length);
    for (const name of heads) expect(['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm']).toContain(name);
    // The reasons may name Vulkan; Dawn's own text (its source paths, its limit warnings) must not appear.
    expect(d.stdout).not.toMatch(/already registered|Couldn't load Vulkan|BackendVk|\/home\/runner|maxDynamic/);
  });

  it('road doctor --backend webgpu where no GPU adapter is possible: one line saying why, no Dawn text', () => {
    const d = road(['doctor', '--backend', 'webgpu']);
    if (d.code === 0) return; // this machine has a WebGPU adapter
    expect(d.code).toBe(2);
    expect(d.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(d.stderr).toMatch(/^road: backend "webgpu" cannot be used: (?!@road)/);
    if (/libvulkan/.test(d.stderr)) expect(d.all).not.toMatch(/Couldn't load Vulkan|BackendVk|maxDynamic/);
  });
});
