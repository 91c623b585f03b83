import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configToJSON, loadConfig } from './config.js';
import { RoadError } from './errors.js';

// Seeded fuzzing of config files and --set overrides: every case loads, or fails with one RoadError that names the
// file (or the --set) — never another exception. ROAD_FUZZ_CASES=N scales the case count.
const SCALE = Number(process.env.ROAD_FUZZ_CASES ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'road-config-fuzz-'));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  0.5,
  2 ** 53,
  'x',
  '',
  '../../etc',
  [],
  [1, 2],
  [[]],
  {},
  { a: 1 },
  'synthcity',
  'gta5:/nope',
  'NaN',
  '1e999',
  '0x10',
  '   ',
  '\u0000',
  '😀',
];

/** Paths of every leaf (and object) in a JSON value. */
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v))
    return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))].filter((p) => p.length);
  return [prefix];
}
function setAt(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o: Record<string, unknown> = obj;
  for (const k of path.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = value;
}

describe('config loading under seeded fuzzing', () => {
  it('mutated config files: each loads or is refused naming the file', () => {
    const r = rng(99);
    const base = configToJSON(loadConfig('road')) as Record<string, unknown>;
    const all = paths(base);
    const n = 1500 * SCALE;
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const cfg = structuredClone(base);
      for (let k = 0, m = 1 + Math.floor(r() * 3); k < m; k++) {
        const p = all[Math.floor(r() * all.length)];
        const kind = r();
        if (kind < 0.7) setAt(cfg, p, WEIRD[Math.floor(r() * WEIRD.length)]);
        else if (kind < 0.85) setAt(cfg, [...p.slice(0, -1), `unknownKey${i}`], 1);
        else setAt(cfg, p, undefined);
      }
      const file = join(dir, `c${i}.json`);
      const text = r() < 0.05 ? JSON.stringify(cfg).slice(0, Math.floor(r() * 200)) : JSON.stringify(cfg);
      writeFileSync(file, text);
      try {
        loadConfig(file);
      } catch (e) {
        expect(e, String((e as Error)?.stack)).toBeInstanceOf(RoadError);
        expect((e as Error).message).toContain(`config file ${file}`);
        refused++;
      }
    }
    process.stderr.write(`config fuzz: ${n} files, ${n - refused} loaded, ${refused} refused\n`);
    expect(refused).toBeGreaterThan(n / 2);
  }, 120000);

  it('random --set overrides: each applies or is refused naming the --set', () => {
    const r = rng(5);
    const keys = paths(configToJSON(loadConfig('road'))).map((p) => p.join('.'));
    const values = ['1', '-3', '0.5', 'true', 'null', '[1,2]', '{"a":1}', 'abc', '', '1e999', '"x"', '[16,32]'];
    const n = 1500 * SCALE;
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const key = r() < 0.1 ? `no.such.${i}` : keys[Math.floor(r() * keys.length)];
      const set = r() < 0.05 ? `${key}` : `${key}=${values[Math.floor(r() * values.length)]}`;
      try {
        loadConfig('road', [set]);
      } catch (e) {
        expect(e, String((e as Error)?.stack)).toBeInstanceOf(RoadError);
        expect((e as Error).message).toMatch(/--set|preset "road"/);
        refused++;
      }
    }
    process.stderr.write(`--set fuzz: ${n} overrides, ${n - refused} applied, ${refused} refused\n`);
  }, 120000);
});
