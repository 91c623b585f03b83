import cliProgress from 'cli-progress';

/**
 * Progress display: a live bar with ETA, current losses and images/s when stderr is a TTY, a plain line every
 * `every` steps (and at the end) otherwise, nothing at all when `quiet` (`-q`).
 */
export interface Progress {
  start(total: number, startValue: number): void;
  update(value: number, info: { losses: Record<string, number>; imagesPerSec: number }): void;
  stop(): void;
}

function fmtLosses(l: Record<string, number>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(3) : String(v)}`)
    .join(' ');
}

/**
 * @param label shown before the bar (e.g. the run name)
 * @param options.log where plain lines go when stderr is not a TTY (default stderr)
 * @param options.tty force the bar (true) or plain lines (false); default: whether stderr is a TTY
 */
export function createProgress(
  label: string,
  options: { log?: (line: string) => void; quiet?: boolean; every?: number; tty?: boolean } = {},
): Progress {
  if (options.quiet) return { start() {}, update() {}, stop() {} };
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!tty) {
    let total = 0;
    let t0 = Date.now();
    let v0 = 0;
    const every = options.every ?? 25;
    return {
      start(t, s) {
        total = t;
        v0 = s;
        t0 = Date.now();
      },
      update(v, info) {
        if (v % every !== 0 && v !== total) return;
        const rate = (v - v0) / Math.max(1e-9, (Date.now() - t0) / 1000);
        const eta = rate > 0 ? Math.round((total - v) / rate) : NaN;
        log(`${label} ${v}/${total} eta ${eta}s ${fmtLosses(info.losses)} ${info.imagesPerSec.toFixed(2)} img/s`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {losses} | {ips} img/s`,
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 20,
      // tty: true forced on a stream that is not a terminal (tests, `script`-like wrappers): draw anyway.
      noTTYOutput: options.tty === true && !process.stderr.isTTY,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(total, startValue) {
      bar.start(total, startValue, { losses: '', ips: '0' });
    },
    update(value, info) {
      bar.update(value, { losses: fmtLosses(info.losses), ips: info.imagesPerSec.toFixed(2) });
    },
    stop() {
      bar.stop();
    },
  };
}
