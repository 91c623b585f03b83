#!/usr/bin/env node
// Browser bundle size of each library package: `export * from '@road/<name>'` bundled by esbuild for a browser
// (platform=browser: the packages' `default` export condition), minified, with the tfjs packages external (the peer
// dependencies a page brings once for all packages); tfjs-core alone is measured for scale. Writes a record to
// bench/results/ (--write) and prints a Markdown table. Run after `pnpm build`.
//
//   node bench/node/browser-bundle-sizes.mjs [--write]
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { cpuModel, gitCommit, loadAverage, nproc, ROOT } from '../lib/common.mjs';

const write = process.argv.includes('--write');
const started = new Date();
const loadStart = loadAverage();
const t0 = performance.now();
const resolveDir = join(ROOT, 'apps', 'trainer');

async function measure(specifier, external) {
  const r = await build({
    stdin: { contents: `export * from '${specifier}';`, resolveDir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
    external,
  });
  const bytes = r.outputFiles[0].contents;
  return { minBytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

const packages = readdirSync(join(ROOT, 'packages'))
  .map((dir) => JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')))
  .filter((pkg) => !pkg.private && pkg.name !== '@road/native')
  .map((pkg) => pkg.name)
  .sort();
const sizes = {};
for (const name of packages) sizes[name] = await measure(name, ['@tensorflow/*']);
sizes['@tensorflow/tfjs-core (for scale)'] = await measure('@tensorflow/tfjs-core', []);

const kib = (n) => (n / 1024).toFixed(1);
const lines = [
  '| package | minified (KiB) | min + gzip (KiB) |',
  '| --- | ---: | ---: |',
  ...Object.entries(sizes).map(([name, f]) => `| ${name} | ${kib(f.minBytes)} | ${kib(f.gzipBytes)} |`),
];
console.log(lines.join('\n'));

if (write) {
  const commit = gitCommit();
  const record = {
    schema: 1,
    name: 'browser-bundle-sizes',
    command: 'node bench/node/browser-bundle-sizes.mjs --write',
    date: started.toISOString(),
    commit,
    backend: 'browser',
    machine: { cpus: nproc(), model: cpuModel(), shared: true },
    load: { start: loadStart.split(' ').map(Number), end: loadAverage().split(' ').map(Number) },
    wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
    figures: {
      tables: [
        {
          caption: 'Browser bundle size per package (esbuild, minified; tfjs external)',
          columns: ['package', 'minified (KiB)', 'min + gzip (KiB)'],
          rows: Object.entries(sizes).map(([name, f]) => [name, Number(kib(f.minBytes)), Number(kib(f.gzipBytes))]),
        },
      ],
      sizes,
    },
    notes:
      'esbuild 0.25, platform=browser, minify, format=esm; @tensorflow/* external (peer dependencies, counted once per page: tfjs-core alone is the last row, bundled whole). Sizes are of everything the package pulls in (fflate and jsfive for @road/backbone). gzip level 9.',
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `${started.toISOString().slice(0, 10)}-${commit.slice(0, 7)}-browser-browser-bundle-sizes.json`,
  );
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
