import * as hdf5 from 'jsfive';
import type { RawTensor, WeightDType, WeightFile } from './weight-file.js';
import { WeightFileError } from './weight-file.js';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` starts with the HDF5 signature. */
export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

const H5_DTYPES: Readonly<Record<string, WeightDType>> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i8': 'int64',
  '<i4': 'int32',
};

type H5Group = { keys: string[]; attrs: Record<string, unknown>; get(path: string): H5Group | H5Dataset | null };
type H5Dataset = { shape: number[]; dtype: string; value: ArrayLike<number> };

const clean = (s: unknown) => String(s).replace(/\0+$/, '');
const names = (v: unknown): string[] => (Array.isArray(v) ? v.map(clean) : v == null ? [] : [clean(v)]);

/**
 * Reads Keras weights from HDF5 (`model.save_weights('x.h5')`, keras.applications' `*_notop.h5`, or a whole
 * `model.save('x.h5')`, whose weights are under `model_weights/`): the root's `layer_names` attribute lists the
 * layers; each layer group's `weight_names` the datasets (`block1_conv1/kernel:0`), which are the tensor names.
 * Parsing: jsfive (pure JavaScript HDF5 reader, synchronous, from a buffer).
 */
export function readKerasH5(bytes: Uint8Array, source: string): WeightFile {
  let file: H5Group;
  try {
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    file = new hdf5.File(buf as ArrayBuffer, source) as unknown as H5Group;
  } catch (e) {
    throw new WeightFileError(source, `not a readable HDF5 file (truncated or corrupt: ${(e as Error).message})`);
  }
  try {
    let root = file;
    if (!('layer_names' in root.attrs) && root.keys.includes('model_weights'))
      root = root.get('model_weights') as H5Group;
    if (!('layer_names' in root.attrs))
      throw new WeightFileError(source, "HDF5 file without Keras 'layer_names' (not Keras weights)");
    const tensors = new Map<string, RawTensor>();
    for (const layer of names(root.attrs.layer_names)) {
      const g = root.get(layer) as H5Group | null;
      if (!g) throw new WeightFileError(source, `layer '${layer}' is listed but has no group`);
      for (const w of names(g.attrs.weight_names)) {
        const d = g.get(w) as H5Dataset | null;
        if (!d || !Array.isArray(d.shape))
          throw new WeightFileError(source, `weight '${w}' of layer '${layer}' is missing`);
        const dtype = H5_DTYPES[d.dtype];
        if (!dtype || dtype === 'int64' || dtype === 'int32') {
          throw new WeightFileError(source, `weight '${w}' has unsupported dtype '${d.dtype}'`);
        }
        tensors.set(w, { dtype, shape: d.shape, data: Float32Array.from(d.value) });
      }
    }
    return { source, format: 'keras-h5', tensors };
  } catch (e) {
    if (e instanceof WeightFileError) throw e;
    throw new WeightFileError(source, `corrupt HDF5 file (${(e as Error).message})`);
  }
}
