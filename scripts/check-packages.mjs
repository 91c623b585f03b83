#!/usr/bin/env node
// Lints every published package as npm would ship it: publint (package.json fields, exports, files) and
// @arethetypeswrong/cli (the types each resolution mode sees: ESM, CJS, node10, bundler). Exit 1 on any problem.
// Run after `pnpm build` (the native package also needs its prebuilt addon: `pnpm --filter @road/native prebuild`).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dirs = ['packages', 'apps'].flatMap((top) =>
  readdirSync(join(root, top), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, top, d.name)),
);

const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = 0;
for (const dir of dirs) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  if (pkg.private) continue;
  // ESM-only packages (no CJS entry) are checked as such; the rest must resolve for both.
  const esmOnly = pkg.type === 'module' && !JSON.stringify(pkg.exports ?? {}).includes('.cjs');
  const runs = [
    [bin('publint'), ['run', '--strict', '--level', 'suggestion']],
    [bin('attw'), ['--pack', '.', '--format', 'ascii', ...(esmOnly ? ['--profile', 'esm-only'] : [])]],
  ];
  for (const [cmd, args] of runs) {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`.trim();
    const ok = r.status === 0;
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${pkg.name}: ${cmd.split('/').pop()} ${args.join(' ')}`);
    if (!ok) console.log(out.replace(/^/gm, '    '));
  }
}
if (failed > 0) {
  console.error(`${failed} package check(s) failed`);
  process.exit(1);
}
