import {
  createSegmentationNet,
  detectWeightMap,
  formatLoadReport,
  listSegmentationNets,
  loadPretrainedWeights,
  netOptionsForWeights,
  readWeightFile,
  type WeightFile,
  WeightFileError,
} from '@road/backbone';
import { EXIT, RoadError } from './errors.js';

/** Options of `road weights inspect`. */
export interface InspectOptions {
  file: string;
  /** A registered net to load the file into (strictly); without it the tensors are listed. */
  net?: string;
  numClasses: number;
  width: number;
  depth?: number;
  verbose?: boolean;
  out: (text: string) => void;
}

function read(file: string): WeightFile {
  try {
    return readWeightFile(file);
  } catch (e) {
    if (e instanceof WeightFileError) throw new RoadError(e.message, EXIT.badInput);
    throw e;
  }
}

/**
 * `road weights inspect FILE [--net NAME]`: without a net, the format, the layout recognised and every tensor
 * (name, dtype, shape); with one, the load report of FILE into NAME (matched / missing / unexpected /
 * shape-mismatched / skipped), a RoadError (exit 2) when it does not load strictly. Nothing is written.
 */
export function runWeightsInspect(o: InspectOptions): void {
  const file = read(o.file);
  const map = detectWeightMap(file);
  if (!o.net) {
    const lines = [
      `${file.source}: ${file.format}, ${file.tensors.size} tensors, layout ${map ? `${map.name} (${map.origin}); input normalisation ${map.normalization}` : 'not recognised'}`,
      ...[...file.tensors].map(([k, t]) => `${k}\t${t.dtype}\t[${t.shape.join(', ')}]`),
    ];
    o.out(`${lines.join('\n')}\n`);
    return;
  }
  if (!listSegmentationNets().includes(o.net)) {
    throw new RoadError(`--net '${o.net}': unknown net (known: ${listSegmentationNets().join(', ')})`, EXIT.badInput);
  }
  const net = createSegmentationNet(o.net, {
    numClasses: o.numClasses,
    seed: 0,
    ...(o.width !== 1 ? { widthMultiplier: o.width } : {}),
    ...(o.depth !== undefined ? { depth: o.depth } : {}),
    ...netOptionsForWeights(file, o.net),
  });
  try {
    const report = loadPretrainedWeights(net, file, { strict: false, dryRun: true });
    o.out(`${formatLoadReport(report, { verbose: o.verbose })}\n`);
    if (!report.strictOk) {
      throw new RoadError(`${file.source} does not load strictly into ${o.net} (report above)`, EXIT.badInput);
    }
  } finally {
    net.dispose();
  }
}
