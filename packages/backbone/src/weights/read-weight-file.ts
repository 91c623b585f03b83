import { readFileSync } from 'node:fs';
import { isHdf5, readKerasH5 } from './keras-h5.js';
import { isSafetensors, readSafetensors } from './safetensors.js';
import { isPickle, isZip, readTorchLegacy, readTorchZip } from './torch-file.js';
import { type WeightFile, WeightFileError } from './weight-file.js';

/**
 * Reads a weight file from bytes, recognising the format by its first bytes: a zip (torch.save ≥ 1.6), a pickle
 * (legacy torch.save), HDF5 (Keras), or a safetensors header. No code from the file is ever run.
 * Errors are {@link WeightFileError}s whose message starts with `source`.
 */
export function parseWeightFile(bytes: Uint8Array, source: string): WeightFile {
  const guarded = (format: string, read: () => WeightFile): WeightFile => {
    try {
      return read();
    } catch (e) {
      if (e instanceof WeightFileError) throw e;
      // a fault the format's own checks did not name (bad UTF-8 in a name, a library's internal error on a corrupt
      // structure): still one error naming the file
      throw new WeightFileError(source, `corrupt ${format} file (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  if (isZip(bytes)) return guarded('PyTorch zip', () => readTorchZip(bytes, source));
  if (isHdf5(bytes)) return guarded('Keras HDF5', () => readKerasH5(bytes, source));
  if (isPickle(bytes)) return guarded('PyTorch legacy', () => readTorchLegacy(bytes, source));
  if (isSafetensors(bytes)) return guarded('safetensors', () => readSafetensors(bytes, source));
  throw new WeightFileError(
    source,
    `unknown weight format (${bytes.length} bytes; expected a PyTorch .pth/.pt, safetensors or Keras HDF5 file)`,
  );
}

/** Reads a weight file from disk (Node); see {@link parseWeightFile}. */
export function readWeightFile(path: string): WeightFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new WeightFileError(
      path,
      `cannot read the weight file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseWeightFile(bytes, path);
}
