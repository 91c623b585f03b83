#!/usr/bin/env node
// `changeset status` for CI: every package changed since the base branch needs a changeset, and the changesets must
// parse. Compares with `main` (or `origin/main`); a clone without either (a detached CI checkout of main itself)
// has nothing to compare and only validates the changesets' release plan.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const has = (ref) => spawnSync('git', ['rev-parse', '--verify', '-q', ref], { cwd: root }).status === 0;
const base = ['main', 'origin/main'].find(has);
const args = ['status', ...(base != null ? [`--since=${base}`] : ['--since=HEAD'])];
if (base == null) console.log('changeset status: no main branch in this clone; checking the changesets only');
const r = spawnSync(join(root, 'node_modules', '.bin', 'changeset'), args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
