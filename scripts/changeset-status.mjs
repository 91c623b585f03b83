#!/usr/bin/env node
// `changeset status` for CI: every package changed since the base branch needs a changeset, and the changesets must
// parse. Compares with `main` (or `origin/main`); a clone without either (a detached CI checkout of main itself)
// has nothing to compare and only validates the changesets' release plan.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const has = (ref) => spawnSync('git', ['rev-parse', '--verify', '-q', ref], { cwd: root }).status === 0;
const base = ['main', 'origin/main'].find(has);
const args = ['status', ...(base != null ? [`--since=${base}`] : ['--since=HEAD'])];
if (base == null) console.log('changeset status: no main branch in this clone; checking the changesets only');
// A changeset whose front matter names no package (e.g. a line turned into a Markdown heading by a formatter) parses
// as an empty release: refuse it by name.
const dir = join(root, '.changeset');
const bad = [];
for (const name of readdirSync(dir).filter((n) => n.endsWith('.md') && n !== 'README.md')) {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(readFileSync(join(dir, name), 'utf8'));
  const lines = (m?.[1] ?? '').split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0 || !lines.every((l) => /^"@road\/[a-z-]+": (major|minor|patch)$/.test(l))) bad.push(name);
}
if (bad.length > 0) {
  console.error(
    `changeset status: no valid '"@road/<pkg>": major|minor|patch' front matter in .changeset/${bad.join(', ')}`,
  );
  process.exit(1);
}
const r = spawnSync(join(root, 'node_modules', '.bin', 'changeset'), args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
