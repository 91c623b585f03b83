// `pnpm demo` builds first: one line while turbo builds, turbo's own output only when the build fails.
import { spawnSync } from 'node:child_process';

const started = Date.now();
process.stderr.write('building the packages (the first time takes about a minute)...\n');
const r = spawnSync('turbo', ['run', 'build', '--output-logs=errors-only'], {
  encoding: 'utf8',
  shell: process.platform === 'win32',
  stdio: ['ignore', 'pipe', 'pipe'],
  maxBuffer: 64 * 1024 * 1024,
});
if (r.error != null) {
  process.stderr.write(`build: cannot run turbo: ${r.error.message}\n`);
  process.exit(1);
}
if (r.status !== 0) {
  process.stderr.write(`${r.stdout}${r.stderr}build failed (exit ${r.status})\n`);
  process.exit(r.status ?? 1);
}
process.stderr.write(`built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
