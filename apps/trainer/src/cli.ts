import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, PRESETS, parseDatasetString, resolveDatasetRef } from './config.js';
import { EXIT, RoadError } from './errors.js';
import { setVerbose } from './output.js';
import { roadVersion } from './versions.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const int = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
  return n;
};
const log = (l: string) => process.stderr.write(`${l}\n`);
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

/** The `road` program (exported for tests). Actions throw; {@link main} turns errors into exit codes. */
export function buildProgram(): Command {
  const program = new Command('road')
    .description('ROAD-Net domain adaptation for semantic segmentation: train, evaluate, benchmark')
    .version(roadVersion(), '-V, --version', 'print the version of road')
    .option('--verbose', 'say why each engine was chosen or skipped, in full (and other details)')
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', (_program, action) => setVerbose(action.optsWithGlobals().verbose === true));

  program
    .command('train')
    .description(`train a run (presets: ${Object.keys(PRESETS).join(', ')})`)
    .option('-c, --config <file|preset>', 'a JSON config file or a preset name', 'road')
    .option('-s, --set <key=value>', 'override a config key (repeatable), e.g. --set lambda.dst=0.5', collect, [])
    .option('--resume <dir>', 'continue the run in <dir> from its latest checkpoint')
    .option('--resume-if-exists', 'with --out: continue the run there if it exists, else start it (requeued jobs)')
    .option('-o, --out <dir>', 'run folder (default runs/<name>-<time>)')
    .option('--teacher <path>', 'teacher checkpoint (overrides teacher.checkpoint)')
    .option('--stop-after <step>', 'stop after this step with a checkpoint (resume later)', int('--stop-after'))
    .option('--backend <name>', 'engine (auto, wasm, cpu, webgpu, …): the same as --set backend=<name>')
    .option('--watchdog-factor <x>', 'a step stalls past x × the recent median step time (default 20)', Number)
    .option('--watchdog-min <seconds>', '… and past at least this many seconds (default 300)', Number)
    .option('--no-watchdog', 'no step watchdog (it exits with code 75 when a step stalls)')
    .option('-q, --quiet', 'no progress bar')
    .action(async (o) => {
      const { trainRun } = await import('./trainer.js');
      const watchdog =
        o.watchdog === false
          ? (false as const)
          : {
              ...(o.watchdogFactor !== undefined ? { factor: o.watchdogFactor } : {}),
              ...(o.watchdogMin !== undefined ? { minSeconds: o.watchdogMin } : {}),
            };
      if (o.backend !== undefined) o.set = [...o.set, `backend=${o.backend}`];
      if (o.resume) {
        const config = o.set.length ? loadConfig(join(o.resume, 'config.json'), o.set) : null;
        const r = await trainRun(config, {
          outDir: resolve(o.resume),
          resume: true,
          log,
          quiet: o.quiet,
          stopAfter: o.stopAfter,
          handleSignals: true,
          watchdog,
        });
        printSummary(r);
        return;
      }
      const config = loadConfig(o.config, o.set);
      if (o.resumeIfExists && !o.out)
        throw new RoadError('--resume-if-exists needs --out DIR (the folder a rerun finds again)', EXIT.badInput);
      const outDir = resolve(o.out ?? join('runs', `${config.name}-${stamp()}`));
      const r = await trainRun(config, {
        outDir,
        log,
        quiet: o.quiet,
        teacherCheckpoint: o.teacher,
        stopAfter: o.stopAfter,
        resumeIfExists: Boolean(o.resumeIfExists),
        handleSignals: true,
        watchdog,
      });
      printSummary(r);
    });

  program
    .command('pretrain')
    .description(
      'the no-weights fallback: pretrain a teacher backbone by rotation prediction on unlabeled images, or (--task segmentation) supervised on a labelled pool of another look (with ImageNet weights, set net.weights instead)',
    )
    .option(
      '--task <name>',
      'rotation (unlabeled images) or segmentation (labelled; SynthCity pools are read with their labels)',
      'rotation',
    )
    .option(
      '-d, --dataset <ref>',
      'unlabeled images: synthcity (its pretrain pool), folder:/path, cityscapes:/path …',
      'synthcity',
    )
    .option('--net <name>', 'backbone (a @road/backbone net)', 'road-lite')
    .option('--width <x>', 'width multiplier of the net (must match the student)', Number, 1)
    .option('--steps <n>', 'steps', int('--steps'), 300)
    .option('--batch <n>', 'images per step (each in 4 rotations)', int('--batch'), 4)
    .option('--crop <n>', 'square crop side', int('--crop'), 64)
    .option('--lr <x>', 'Adam learning rate', Number, 0.002)
    .option('--seed <n>', 'seed', int('--seed'), 1)
    .option('--backend <name>', 'engine (auto, wasm, cpu, …)', 'auto')
    .option('-o, --out <dir>', 'output folder (default runs/teacher-<time>)')
    .option('-q, --quiet', 'no progress bar')
    .action(async (o) => {
      const { pretrainTeacher } = await import('./pretrain.js');
      const { parseDatasetString } = await import('./config.js');
      if (o.task !== 'rotation' && o.task !== 'segmentation')
        throw new RoadError(`--task must be rotation or segmentation, got ${o.task}`, EXIT.badInput);
      const ref = parseDatasetString(o.dataset, '--dataset');
      const r = await pretrainTeacher({
        task: o.task,
        dataset:
          o.task === 'segmentation' && ref.kind === 'synthcity' ? { ...ref, options: { labels: true } } : o.dataset,
        net: o.net,
        width: o.width,
        steps: o.steps,
        batch: o.batch,
        crop: o.crop,
        lr: o.lr,
        seed: o.seed,
        backend: o.backend,
        outDir: resolve(o.out ?? join('runs', `teacher-${stamp()}`)),
        log,
        quiet: o.quiet,
      });
      process.stdout.write(
        `${JSON.stringify({ checkpoint: r.checkpoint, task: o.task, [o.task === 'rotation' ? 'rotationAccuracy' : 'pixelAccuracy']: r.accuracy, seconds: r.seconds })}\n`,
      );
    });

  program
    .command('eval')
    .description('evaluate a run or checkpoint: per-class IoU, mIoU (+ mIoU16/13 for 19 classes), JSON + markdown')
    .option('--run <dir>', 'a run folder (uses its latest checkpoint and its val dataset)')
    .option('--checkpoint <path>', 'a checkpoint folder or checkpoint.json')
    .option('-d, --dataset <ref>', 'labelled dataset, e.g. cityscapes:/data/cityscapes#val or synthcity#target-val')
    .option('--limit <n>', 'first N images only', int('--limit'), 0)
    .option('--backend <name>', 'engine', 'auto')
    .option('-o, --out <dir>', 'where eval JSON/markdown go (default <run>/eval or ./eval)')
    .action(async (o) => {
      const { runEval } = await import('./commands.js');
      await runEval({
        run: o.run,
        checkpoint: o.checkpoint,
        dataset: o.dataset,
        limit: o.limit,
        backend: o.backend,
        out: o.out,
        log,
      });
    });

  program
    .command('predict')
    .description('colourised PNG predictions (Cityscapes palette) for a folder of images')
    .requiredOption('--checkpoint <path>', 'checkpoint folder, checkpoint.json or run folder')
    .requiredOption('--input <dir>', 'folder of images')
    .requiredOption('--output <dir>', 'output folder')
    .option('--overlay', 'also write <name>_overlay.png (prediction blended over the image)')
    .option('--backend <name>', 'engine', 'auto')
    .action(async (o) => {
      const { ensureEngine } = await import('./engine.js');
      const { predictFolder } = await import('./predict.js');
      await ensureEngine(o.backend, log);
      const r = await predictFolder({
        checkpoint: o.checkpoint,
        inputDir: o.input,
        outputDir: o.output,
        overlay: o.overlay,
        log,
      });
      process.stdout.write(`${r.written.length} files written to ${o.output}\n`);
    });

  program
    .command('export <run>')
    .description(
      "a run's newest checkpoint for the web (--web): a tfjs layers model (model.json + weight shards) and road-web.json (class names, palette, normalisation)",
    )
    .option('--web', 'tfjs layers model for a web page (the only format so far)')
    .option('--out <dir>', 'output folder (default RUN/web)')
    .action(async (run: string, o) => {
      if (!o.web) throw new RoadError('export: choose a format: --web', EXIT.badInput);
      const { ensureEngine } = await import('./engine.js');
      const { exportWeb } = await import('./export-web.js');
      await ensureEngine('cpu', () => {});
      const r = await exportWeb({ run, out: o.out, log });
      process.stdout.write(`${r.files.length} files written to ${r.dir}\n`);
    });

  program
    .command('demo')
    .description(
      'SynthCity: train source-only and road, evaluate both on target-test (teacher pretrained on the neutral pool), print the table, write the report',
    )
    .option('--quick', 'smoke test (20 steps, < 1 minute): checks that everything runs; its numbers mean nothing')
    .option('--seed <n>', 'seed', int('--seed'), 1)
    .option('--backend <name>', 'engine', 'auto')
    .option('-o, --out <dir>', 'output folder (default runs/demo-<time>)')
    .option('-s, --set <key=value>', 'override a training config key for both runs (repeatable)', collect, [])
    .option('-q, --quiet', 'no progress bar')
    .action(async (o) => {
      const { runDemo } = await import('./demo.js');
      const outDir = resolve(o.out ?? join('runs', `demo-${stamp()}`));
      const r = await runDemo({
        quick: o.quick,
        outDir,
        seed: o.seed,
        backend: o.backend,
        log,
        quiet: o.quiet,
        extra: o.set,
      });
      const gain = `${r.gainPoints >= 0 ? '+' : ''}${r.gainPoints.toFixed(1)} mIoU points`;
      process.stdout.write(
        `\n${r.table}\nROAD − source-only: ${gain}${r.smokeTest ? ' (smoke test: not a result; run `road demo` without --quick)' : ''}\n`,
      );
      process.stdout.write(
        `wall time: teacher ${r.teacher.cached ? 'cached' : `${r.seconds.pretrain.toFixed(0)} s`}, source-only ${r.seconds.sourceOnly.toFixed(0)} s, road ${r.seconds.road.toFixed(0)} s, total ${r.seconds.total.toFixed(0)} s (backend ${r.backend})\nreport: ${join(outDir, 'report.html')}\n`,
      );
    });

  const bench = program
    .command('bench')
    .description('benchmarks: digits (DANN protocol) and synthcity (ROAD ablation)');
  bench
    .command('digits')
    .description(
      'MNIST → MNIST-M: classification (source-only / DANN / target-trained) next to the DANN paper, and the segmentation view',
    )
    .option(
      '--backgrounds <dir>',
      'folder of photos for MNIST-M backgrounds (e.g. BSDS500); procedural textures otherwise',
    )
    .option('--seeds <n>', 'number of seeds', int('--seeds'), 3)
    .option('--steps <n>', 'classification steps per run (default 1000)', int('--steps'))
    .option('--no-torch', 'skip the PyTorch twin (bench/reference/dann_digits.py)')
    .option('--no-segmentation', 'skip the segmentation view')
    .option('--no-classification', 'skip the classification part (and its PyTorch twin)')
    .option(
      '--seg-split <name>',
      'segmentation view evaluated on: test (reported numbers) or selection (training digits, other layouts; for choosing a recipe)',
      'test',
    )
    .option(
      '-s, --set <key=value>',
      'override a training config key for every segmentation run (repeatable), e.g. --set net.bn=frozen',
      collect,
      [],
    )
    .option('--quick', 'tiny smoke version')
    .option('--backend <name>', 'engine', 'auto')
    .option('-o, --out <dir>', 'output folder (default runs/bench-digits-<time>)')
    .option('-q, --quiet', 'no progress bar')
    .action(async (o) => {
      const { benchDigits } = await import('./bench.js');
      const r = await benchDigits({
        backgrounds: o.backgrounds,
        seeds: o.seeds,
        steps: o.steps,
        torch: o.torch,
        segmentation: o.segmentation,
        classification: o.classification,
        segSplit: o.segSplit,
        segSet: o.set,
        quick: o.quick,
        backend: o.backend,
        outDir: resolve(o.out ?? join('runs', `bench-digits-${stamp()}`)),
        log,
        quiet: o.quiet,
      });
      process.stdout.write(`${r.markdown}\n`);
    });
  bench
    .command('synthcity')
    .description(
      'the ROAD ablation on SynthCity: source-only, dst, spt, road, road-hydraplus (shared and paper form), oracle (mean ± spread)',
    )
    .option('--seeds <n>', 'number of seeds', int('--seeds'), 3)
    .option(
      '--presets <list>',
      'comma-separated presets',
      'source-only,dst,spt,road,road-hydraplus,road-hydraplus-paper,oracle',
    )
    .option('--quick', 'tiny smoke version')
    .option('--backend <name>', 'engine', 'auto')
    .option('-o, --out <dir>', 'output folder (default runs/bench-synthcity-<time>)')
    .option(
      '--split <name>',
      'evaluation split: target-test (reported numbers) or target-val (selection only)',
      'target-test',
    )
    .option('--no-torch', 'skip the PyTorch twin (bench/reference/road_synthcity.py, first seed)')
    .option('-s, --set <key=value>', 'override a training config key for every run (repeatable)', collect, [])
    .option('-q, --quiet', 'no progress bar')
    .action(async (o) => {
      const { benchSynthCity } = await import('./bench.js');
      const outDir = resolve(o.out ?? join('runs', `bench-synthcity-${stamp()}`));
      const r = await benchSynthCity({
        seeds: o.seeds,
        presets: String(o.presets)
          .split(',')
          .map((s: string) => s.trim()),
        quick: o.quick,
        backend: o.backend,
        outDir,
        log,
        quiet: o.quiet,
        extra: o.set,
        split: o.split,
        torch: o.torch,
      });
      process.stdout.write(`${r.markdown}\n`);
      log(`report: ${join(outDir, 'report.html')}`);
    });

  program
    .command('doctor')
    .description(
      'versions, the engine chosen and why each faster one was skipped (and how to get it), then a few training steps',
    )
    .option('--backend <name>', 'engine', 'auto')
    .option('--steps <n>', 'self-check training steps', int('--steps'), 5)
    .action(async (o) => {
      const { runDoctor } = await import('./commands.js');
      await runDoctor({ backend: o.backend, steps: o.steps, log: (l) => process.stdout.write(`${l}\n`) });
    });

  const weights = program
    .command('weights')
    .description('pretrained weight files (PyTorch .pth/.pt, safetensors, Keras .h5)');
  weights
    .command('inspect <file>')
    .description(
      'list the tensors and the layout found, or with --net the load report (matched/missing/unexpected/shape-mismatched/skipped); exit 0 when FILE loads strictly into the net, 2 otherwise',
    )
    .option('--net <name>', 'a registered net, e.g. vgg16-fcn or deeplabv2-resnet')
    .option(
      '--num-classes <n>',
      'classes of the net (a DeepLab classifier loads when it matches)',
      int('--num-classes'),
      19,
    )
    .option('--width <w>', 'width multiplier of the net', (v) => Number(v), 1)
    .option('--depth <n>', 'deeplabv2-resnet depth (50 or 101)', int('--depth'))
    .option('-v, --verbose', 'list every matched tensor too')
    .action(async (file: string, o) => {
      const { ensureEngine } = await import('./engine.js');
      const { runWeightsInspect } = await import('./weights-command.js');
      if (o.net) await ensureEngine('cpu', () => {});
      runWeightsInspect({
        file,
        net: o.net,
        numClasses: o.numClasses,
        width: o.width,
        depth: o.depth,
        verbose: Boolean(o.verbose),
        out: (t) => process.stdout.write(t),
      });
    });

  const data = program.command('data').description('dataset tools');
  data
    .command('stats')
    .description('number of images and pixels per train id (JSON), for checking a download')
    .requiredOption('-d, --dataset <kind>', 'cityscapes, gta5, synthia, folder, synthcity, digits')
    .option('--root <dir>', 'dataset folder (on-disk kinds)')
    .option('--split <split>', 'split')
    .option('--skip-bad', 'count unreadable samples instead of failing')
    .option('--limit <n>', 'built-in generators: first N images', int('--limit'), 0)
    .action(async (o) => {
      const { runDataStats } = await import('./commands.js');
      const ref = resolveDatasetRef(
        parseDatasetString(`${o.dataset}${o.root ? `:${o.root}` : ''}${o.split ? `#${o.split}` : ''}`, '--dataset'),
        'val',
        '--dataset',
      );
      const stats = await runDataStats({ ref, skipBad: Boolean(o.skipBad), limit: o.limit, log });
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    });
  return program;
}

function printSummary(r: {
  runDir: string;
  step: number;
  steps: number;
  stopped: boolean;
  final: { miou: number; miouPresent?: number } | null;
  seconds: number;
  imagesPerSec: number;
  backend: string;
  interrupted: string | null;
}): void {
  const head = r.stopped
    ? `stopped at step ${r.step}/${r.steps} (resume with: road train --resume ${r.runDir})`
    : `done: ${r.steps} steps`;
  const miou = r.final ? `, target mIoU ${(100 * (r.final.miouPresent ?? r.final.miou)).toFixed(1)}` : '';
  process.stdout.write(
    `${head}${miou}, ${r.seconds.toFixed(0)} s, ${r.imagesPerSec.toFixed(2)} img/s (${r.backend}); run folder ${r.runDir}\n`,
  );
  if (r.interrupted)
    throw new RoadError(
      `${r.interrupted}: stopped at step ${r.step} with a checkpoint; exit code ${EXIT.resumable} means resumable`,
      EXIT.resumable,
    );
}

/** Runs the CLI; returns the exit code (errors print one line; unexpected ones also their stack). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return 0;
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) return err.exitCode || 2;
    if (e instanceof RoadError) {
      process.stderr.write(`road: ${e.message}\n`);
      return e.exitCode;
    }
    if ((e as Error)?.name === 'DatasetError') {
      // @road/datasets' errors name the file and say what is wrong: bad input, not a crash.
      process.stderr.write(`road: ${(e as Error).message}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`road: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

// Entry point when run as the `road` binary (dist/cli.js).
function invokedDirectly(): boolean {
  try {
    return Boolean(process.argv[1]) && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`road: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
