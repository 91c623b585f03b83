/** Element types a weight file may hold (the ones the readers decode). */
export type WeightDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8';

/** One tensor read from a weight file. Floating types are decoded to float32; int64 to BigInt64Array. */
export interface RawTensor {
  /** The element type in the file. */
  dtype: WeightDType;
  /** The shape in the file's layout (PyTorch: OIHW kernels, [out, in] Linear weights; Keras: HWIO). */
  shape: number[];
  /** Row-major (C-contiguous) values. */
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

/** The container a weight file was read from. */
export type WeightFileFormat = 'safetensors' | 'pytorch-zip' | 'pytorch-legacy' | 'keras-h5';

/** The tensors of one weight file, by name, in file order. */
export interface WeightFile {
  /** Where it came from (a path, or a caller-given label). */
  source: string;
  format: WeightFileFormat;
  tensors: Map<string, RawTensor>;
  /** safetensors `__metadata__`, if any. */
  metadata?: Record<string, string>;
}

/** An error about one weight file: its message starts with the file's name. */
export class WeightFileError extends Error {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'WeightFileError';
  }
}

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<WeightDType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
};

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Decodes `count` little-endian elements of `dtype` starting at byte `offset` of `bytes`. Floats become float32,
 * int64 a BigInt64Array. Throws (naming `source`) if the bytes run past the end.
 */
export function decodeElements(
  source: string,
  what: string,
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: WeightDType,
): RawTensor['data'] {
  const nbytes = count * DTYPE_BYTES[dtype];
  if (offset < 0 || offset + nbytes > bytes.length) {
    throw new WeightFileError(
      source,
      `tensor '${what}' needs bytes ${offset}..${offset + nbytes} but the data has ${bytes.length} (truncated or corrupt file)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, nbytes);
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'float64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'float16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'bfloat16': {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(8 * i, true);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'uint8':
      return bytes.slice(offset, offset + count);
  }
}

/** Product of a shape's dimensions (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The values of a floating tensor as float32 (throws for integer tensors). */
export function floatValues(source: string, name: string, t: RawTensor): Float32Array {
  if (!(t.data instanceof Float32Array))
    throw new WeightFileError(source, `tensor '${name}' is ${t.dtype}, not floating`);
  return t.data;
}
