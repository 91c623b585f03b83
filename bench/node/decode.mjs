// Decode throughput of on-disk image + label pairs at 1024×512. @road/datasets exports no bench function, so this
// runs the package's own packages/datasets/bench/decode.mjs (GTA5- and SYNTHIA-layout PNG pairs written to a temp
// dir, decoded through the readers) and turns its lines `  <what>  <n> images/s` into rows.
//   node bench/node/decode.mjs [--pairs 16] [--passes 5]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { emit, parseArgs, ROOT } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const pairs = String(args.pairs ?? 16);
const passes = String(args.passes ?? 5);
const script = join(ROOT, 'packages/datasets/bench/decode.mjs');
if (!existsSync(script)) {
  emit({ bench: 'decode', skipped: `${script} not found` });
} else {
  const out = execFileSync(process.execPath, [script, pairs, passes], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = out.split('\n');
  const rows = [];
  for (const line of lines) {
    const m = /^\s+(.+?)\s+([\d.]+) images\/s\s*$/.exec(line);
    if (m) rows.push({ label: m[1], imagesPerSec: Number(m[2]) });
  }
  emit({
    bench: 'decode',
    header: lines.find((l) => l.startsWith('decode')) ?? '',
    pairs: Number(pairs),
    passes: Number(passes),
    rows,
  });
}
