import * as tf from '@tensorflow/tfjs-core';

const WEIGHTS_FILE = 'weights.bin';

/**
 * A tfjs IOHandler that reads/writes a directory in the tfjs layers format (`model.json` + `weights.bin`, the layout
 * of tfjs-node's `file://` handler and of `tensorflowjs_converter` output) using `node:fs`, loaded lazily so the
 * package still runs in browsers. Used for `file://` URLs when no other handler (e.g. tfjs-node's) is registered.
 * Files are written to `*.tmp` and renamed, `weights.bin` before `model.json`.
 */
export function nodeFileHandler(directory: string): tf.io.IOHandler {
  if (typeof directory !== 'string' || directory.length === 0)
    throw new Error('nodeFileHandler: directory must be a non-empty string');
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('nodeFileHandler: binary model topologies are not supported (layers models only)');
      }
      await fs.mkdir(directory, { recursive: true });
      const weights =
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      const weightsPath = path.join(directory, WEIGHTS_FILE);
      const jsonPath = path.join(directory, 'model.json');
      await fs.writeFile(`${weightsPath}.tmp`, new Uint8Array(weights));
      await fs.rename(`${weightsPath}.tmp`, weightsPath);
      await fs.writeFile(`${jsonPath}.tmp`, JSON.stringify(modelJSON));
      await fs.rename(`${jsonPath}.tmp`, jsonPath);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      const jsonPath = path.join(directory, 'model.json');
      let text: string;
      try {
        text = await fs.readFile(jsonPath, 'utf8');
      } catch (e) {
        throw new Error(`cannot read ${jsonPath}: ${(e as Error).message}`);
      }
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = path.join(directory, p);
            const buf = await fs.readFile(file).catch((e: Error) => {
              throw new Error(`cannot read weights file ${file}: ${e.message}`);
            });
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** `file://some/dir` → `some/dir`, or null for other strings. */
function filePath(url: string): string | null {
  return url.startsWith('file://') ? url.slice('file://'.length) : null;
}

/** Resolves a save destination: an IOHandler as is, a URL with a registered handler as is, `file://` via node:fs. */
export function resolveSaveTarget(target: string | tf.io.IOHandler): string | tf.io.IOHandler {
  if (typeof target !== 'string') return target;
  if (tf.io.getSaveHandlers(target).length > 0) return target;
  const p = filePath(target);
  if (p !== null) return nodeFileHandler(p);
  throw new Error(`no save handler for '${target}' (use file://DIR in Node, or pass an IOHandler)`);
}

/** Resolves a load source like {@link resolveSaveTarget}. A `file://` URL may name the directory or its model.json. */
export function resolveLoadSource(source: string | tf.io.IOHandler): string | tf.io.IOHandler {
  if (typeof source !== 'string') return source;
  if (tf.io.getLoadHandlers(source).length > 0) return source;
  const p = filePath(source);
  if (p !== null) return nodeFileHandler(p.endsWith('model.json') ? p.slice(0, -'model.json'.length) || '.' : p);
  throw new Error(`no load handler for '${source}' (use file://DIR in Node, or pass an IOHandler)`);
}

/** Reads the model artifacts (topology, weights, metadata) from an IOHandler or URL. */
export async function readArtifacts(source: string | tf.io.IOHandler): Promise<tf.io.ModelArtifacts> {
  let handler = resolveLoadSource(source);
  if (typeof handler === 'string') handler = tf.io.getLoadHandlers(handler)[0];
  if (!handler.load)
    throw new Error(`the IOHandler for ${typeof source === 'string' ? `'${source}'` : 'this source'} cannot load`);
  return handler.load();
}
