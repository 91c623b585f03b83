import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Resume in a *new process* (the usual case: the machine was stopped) through the built CLI, on cpu.
// Needs apps/trainer/dist (the root `pnpm test` builds it first; or `pnpm --filter @road/trainer build`).
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

describe('road train --resume in a new process', () => {
  it('ends with the same weights as the uninterrupted run (cpu)', () => {
    expect(existsSync(cli), `${cli} missing: build the trainer first`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'road-resume-cli-'));
    const road = (...args: string[]) =>
      execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    road(
      'pretrain',
      '--steps',
      '2',
      '--batch',
      '1',
      '--crop',
      '16',
      '--width',
      '0.25',
      '--backend',
      'cpu',
      '--out',
      join(dir, 'teacher'),
      '-q',
    );
    const sets = [
      'backend=cpu',
      'net.width=0.25',
      'crop=[16,32]',
      'batch.source=1',
      'batch.target=1',
      'evalLimit=1',
      'steps=4',
      'grid=2x2',
    ].flatMap((s) => ['--set', s]);
    const train = (out: string, ...extra: string[]) =>
      road(
        'train',
        '--config',
        'road',
        ...sets,
        '--teacher',
        join(dir, 'teacher'),
        '--out',
        join(dir, out),
        '-q',
        ...extra,
      );
    train('a');
    const stopped = train('b', '--stop-after', '2');
    expect(stopped).toMatch(/stopped at step 2\/4/);
    // Changing anything but `steps` on resume is refused with the keys named, and the run folder is untouched.
    let refused = '';
    try {
      road('train', '--resume', join(dir, 'b'), '--set', 'lambda.dst=0.5', '--set', 'steps=4', '-q');
    } catch (e) {
      refused = String((e as { stderr?: string }).stderr);
    }
    expect(refused).toMatch(/only 'steps' can be changed when resuming; --set also changes lambda\.dst/);
    const resumed = road('train', '--resume', join(dir, 'b'), '-q');
    expect(resumed).toMatch(/done: 4 steps/);
    const w = (r: string) => readFileSync(join(dir, r, 'checkpoints', 'step-0000004', 'weights.bin'));
    expect(Buffer.compare(w('a'), w('b'))).toBe(0);
  });
});
