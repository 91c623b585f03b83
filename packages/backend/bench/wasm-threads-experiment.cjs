// EXPERIMENT (not used by @road/backend): multi-threaded tfjs-backend-wasm 4.22 in Node 20.
//   node packages/backend/bench/wasm-threads-experiment.cjs [threads]
// As shipped, WASM_HAS_MULTITHREAD_SUPPORT is forced false in Node, and forcing it true fails with
// ERR_WORKER_PATH: emscripten starts its pthread workers from blob: URLs, which worker_threads
// refuses, and hands them the main script as a Blob. This script translates both (Blob sources are
// recorded, a blob: worker is started with {eval: true}, the main-script Blob becomes a temp file
// with the CJS bundle's free variables defined). Result on the 2-core machine (2026-11-26): the
// threaded binary initialises and its 8 pool workers report 'loaded', but XNNPACK's pool reports 1
// thread and no pthread is ever started ('run' is never posted); the threaded binary then runs conv
// forward (8×64×64×64, 3×3 64→64) at 17–36 GFLOP/s vs 24–42 for the single-threaded SIMD binary
// (noisy shared machine). Not adopted: it needs global monkey-patching (Blob, URL.createObjectURL,
// Worker) and gives no speed-up.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker: NodeWorker } = require('node:worker_threads');
const sources = new WeakMap();
const urlSource = new Map();
const OrigBlob = globalThis.Blob;
globalThis.Blob = class extends OrigBlob {
  constructor(parts, opts) {
    super(parts, opts);
    if (parts?.every((p) => typeof p === 'string')) sources.set(this, parts.join(''));
  }
};
const origCreate = URL.createObjectURL;
URL.createObjectURL = (b) => {
  const u = origCreate(b);
  if (sources.has(b)) urlSource.set(u, sources.get(b));
  return u;
};
const prelude =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;";
let tmpMain = null;
const posted = new Map(); // messages the main thread sent to pthread workers, by cmd
const received = new Map(); // messages the workers sent back, by cmd
class PatchedWorker extends NodeWorker {
  constructor(url, opts) {
    if (typeof url === 'string' && urlSource.has(url)) super(urlSource.get(url), { ...opts, eval: true });
    else super(url, opts);
    this.on('error', (e) => console.log('worker error', e?.message));
    this.on('message', (m) => {
      if (m?.cmd) received.set(m.cmd, (received.get(m.cmd) ?? 0) + 1);
    });
  }
  postMessage(msg, transfer) {
    if (msg && msg.cmd === 'load' && msg.urlOrBlob && sources.has(msg.urlOrBlob)) {
      if (tmpMain == null) {
        tmpMain = path.join(os.tmpdir(), `tfjs-wasm-threaded-${process.pid}.js`);
        fs.writeFileSync(tmpMain, prelude + sources.get(msg.urlOrBlob));
      }
      msg = { ...msg, urlOrBlob: tmpMain };
    }
    if (msg && msg.cmd !== 'load') posted.set(msg.cmd, (posted.get(msg.cmd) ?? 0) + 1);
    return super.postMessage(msg, transfer);
  }
}
let _nodeWorker = NodeWorker;
Object.defineProperty(globalThis, 'Worker', {
  configurable: true,
  get() {
    return PatchedWorker;
  },
  set(v) {
    _nodeWorker = v;
  },
});

const tf = require('@tensorflow/tfjs-core');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const threads = Number(process.argv[2] ?? 2);
(async () => {
  if (threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
  }
  const ok = await tf.setBackend('wasm');
  console.log(
    'setBackend',
    ok,
    '| XNNPACK threads',
    ok && wasm.getThreadsCount(),
    '| worker messages received',
    JSON.stringify([...received]),
    '| sent',
    JSON.stringify([...posted]),
  );
  const x = tf.randomUniform([8, 64, 64, 64]);
  const w = tf.randomUniform([3, 3, 64, 64]);
  const t = () => {
    const t0 = performance.now();
    const y = tf.conv2d(x, w, 1, 'same');
    y.dataSync();
    y.dispose();
    return performance.now() - t0;
  };
  t();
  const ms = [t(), t(), t(), t(), t()].sort((a, b) => a - b);
  console.log('conv fwd ms', ms[2].toFixed(1), 'GFLOP/s', ((2 * 8 * 64 * 64 * 9 * 64 * 64) / ms[2] / 1e6).toFixed(1));
  if (tmpMain) fs.unlinkSync(tmpMain);
  process.exit(0);
})().catch((e) => {
  console.log('ERR', e);
  process.exit(1);
});
