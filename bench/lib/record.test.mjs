import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecord } from './record.mjs';

const dir = join(import.meta.dirname, '..', 'results');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('bench/results', () => {
  it('holds records', () => {
    expect(files.length).toBeGreaterThan(0);
    expect(readdirSync(dir).filter((f) => !f.endsWith('.json'))).toEqual([]);
  });

  it.each(files)('%s meets the record schema and is named after its content', (f) => {
    const r = checkRecord(readFileSync(join(dir, f), 'utf8'), `bench/results/${f}`);
    expect(r.schema).toBe(1);
  });
});

describe('checkRecord', () => {
  const good = {
    schema: 1,
    name: 'bench',
    command: 'node bench/run.mjs',
    date: '2026-12-05T04:00:00Z',
    commit: 'abc1234',
    backend: 'wasm-native',
    machine: { cpus: 2, model: 'AMD EPYC', shared: true },
    load: { start: [1, 2, 3], end: [1.5, 2, 3] },
    wallSeconds: 12,
    figures: { tables: [{ caption: null, columns: ['a', 'b'], rows: [['x', 1]] }], results: { any: 'thing' } },
    notes: '',
  };
  const text = (r) => JSON.stringify(r);
  const file = 'bench/results/2026-12-05-abc1234-wasm-native-bench.json';

  it('accepts a complete record under its own name (and a numbered twin)', () => {
    expect(checkRecord(text(good), file).name).toBe('bench');
    expect(checkRecord(text(good), file.replace('.json', '-2.json')).name).toBe('bench');
  });

  it('names the file and every problem', () => {
    const { load, ...noLoad } = good;
    expect(load).toBeDefined();
    expect(() => checkRecord(text(noLoad), file)).toThrow(`${file}: load: Required`);
    expect(() => checkRecord(text({ ...good, load: { start: [1, 2], end: [1, 2, 3] } }), file)).toThrow(/load\.start/);
    expect(() => checkRecord(text({ ...good, date: '5 Dec 2026' }), file)).toThrow(/date: Invalid/);
    const ragged = { tables: [{ caption: null, columns: ['a', 'b'], rows: [['x']] }] };
    expect(() => checkRecord(text({ ...good, figures: ragged }), file)).toThrow(/one cell per column/);
    expect(() => checkRecord(text({ ...good, extra: 1 }), file)).toThrow(/Unrecognized key/);
    expect(() => checkRecord('{"schema": 1,', file)).toThrow(`${file}: not JSON`);
  });

  it('refuses a file name that does not match date-commit-backend-name', () => {
    expect(() => checkRecord(text(good), 'bench/results/2026-12-05-abc1234-wasm-bench.json')).toThrow(
      /should be 2026-12-05-abc1234-wasm-native-bench\.json/,
    );
  });
});
