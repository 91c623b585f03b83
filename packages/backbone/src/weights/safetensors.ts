import {
  decodeElements,
  numel,
  type RawTensor,
  type WeightDType,
  type WeightFile,
  WeightFileError,
} from './weight-file.js';

const SAFETENSORS_DTYPES: Readonly<Record<string, WeightDType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
};

/** Header sizes above this are refused (the format's own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

/** True when `bytes` looks like a safetensors file (8-byte header length, then a JSON object). */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && n <= MAX_HEADER && bytes[8] === 0x7b; // '{'
}

/**
 * Reads a safetensors file (https://huggingface.co/docs/safetensors): u64 little-endian header size N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`, then the raw little-endian data, offsets
 * relative to its start. Checks that every tensor's byte range has the size its dtype and shape need and lies inside
 * the file. dtypes: F32, F16, BF16, F64 (decoded to float32), I64, I32, U8.
 */
export function readSafetensors(bytes: Uint8Array, source: string): WeightFile {
  if (bytes.length < 8) throw new WeightFileError(source, `safetensors: file of ${bytes.length} bytes has no header`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) {
    throw new WeightFileError(
      source,
      `safetensors: header of ${n} bytes does not fit in a ${bytes.length}-byte file (truncated or corrupt)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new WeightFileError(source, `safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new WeightFileError(source, 'safetensors: header is not a JSON object');
  }
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> | undefined;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = SAFETENSORS_DTYPES[String(e?.dtype)];
    if (!dtype)
      throw new WeightFileError(source, `safetensors: tensor '${name}' has unsupported dtype '${String(e?.dtype)}'`);
    const shape = e.shape;
    const offs = e.data_offsets;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new WeightFileError(source, `safetensors: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isInteger(o) && o >= 0) ||
      offs[1] < offs[0]
    ) {
      throw new WeightFileError(
        source,
        `safetensors: tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`,
      );
    }
    const count = numel(shape as number[]);
    const bytesPer = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, uint8: 1 }[dtype];
    if (offs[1] - offs[0] !== count * bytesPer) {
      throw new WeightFileError(
        source,
        `safetensors: tensor '${name}' (${e.dtype} [${shape}]) spans ${offs[1] - offs[0]} bytes, expected ${count * bytesPer}`,
      );
    }
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      data: decodeElements(source, name, data, offs[0], count, dtype),
    });
  }
  return { source, format: 'safetensors', tensors, metadata };
}
