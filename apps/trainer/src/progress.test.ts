import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

const info = { losses: { seg: 1.5 }, imagesPerSec: 10 };

describe('createProgress', () => {
  it('not a TTY: one plain line every N steps and at the last step', () => {
    const lines: string[] = [];
    const p = createProgress('run', { log: (l) => lines.push(l), every: 4, tty: false });
    p.start(10, 0);
    for (let v = 1; v <= 10; v++) p.update(v, info);
    p.stop();
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['4/10', '8/10', '10/10']);
    expect(lines[0]).toMatch(/^run 4\/10 eta -?\d+s seg 1\.500 10\.00 img\/s$/);
  });

  it('-q: nothing at all, even with a log and not on a TTY', () => {
    const lines: string[] = [];
    const p = createProgress('run', { log: (l) => lines.push(l), quiet: true, every: 1, tty: false });
    p.start(3, 0);
    for (let v = 1; v <= 3; v++) p.update(v, info);
    p.stop();
    expect(lines).toEqual([]);
  });

  it('on a TTY: a live bar on stderr, no plain lines', () => {
    const lines: string[] = [];
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const p = createProgress('run', { log: (l) => lines.push(l), every: 1, tty: true });
      p.start(2, 0);
      p.update(1, info);
      p.update(2, info);
      p.stop();
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toEqual([]);
    expect(written.join('')).toMatch(/run \[[^\]]*\] 2\/2/);
  });
});
