#!/usr/bin/env node
// The package's install script. The npm package ships prebuilt binaries (prebuilds/<platform>-<arch>/): when the one
// for this platform loads, nothing is compiled. Otherwise (another platform, or ROAD_NATIVE_BUILD_FROM_SOURCE=1) it
// compiles from source (scripts/build.mjs), which never fails an install. Package managers that skip install
// scripts (pnpm 10 by default) still get the prebuilt binary: index.js finds it without this script.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './compile.mjs';

const prebuilt = join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'road_native.node');
if (process.env.ROAD_NATIVE_BUILD_FROM_SOURCE !== '1' && existsSync(prebuilt)) {
  // Load it in a child process: a binary that crashes on load must not take the install down with it.
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(prebuilt)}).info()`], { encoding: 'utf8' });
  if (r.status === 0) process.exit(0);
  console.warn(
    `@road/native: the prebuilt ${prebuilt} does not load (${r.stderr.trim().split('\n')[0]}); building from source`,
  );
}
await import('./build.mjs');
