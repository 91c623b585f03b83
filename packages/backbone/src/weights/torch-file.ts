import {
  PickleError,
  type PickleValue,
  readPickle,
  type StorageRef,
  storageFromPid,
  type TensorRef,
} from './restricted-pickle.js';
import { DTYPE_BYTES, decodeElements, numel, type RawTensor, type WeightFile, WeightFileError } from './weight-file.js';
import { ZipError, zipEntries, zipEntryData } from './zip-reader.js';

/** True when `bytes` starts like a zip archive (what `torch.save` writes since PyTorch 1.6). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** True when `bytes` starts with a pickle PROTO opcode (the legacy torch.save format, or a bare pickle). */
export function isPickle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}

/** The storage's elements, decoded. */
type Storages = Map<string, RawTensor['data']>;

function materialise(source: string, name: string, t: TensorRef, storages: Storages): RawTensor {
  const data = storages.get(t.storage.key);
  if (!data)
    throw new WeightFileError(source, `tensor '${name}' refers to storage '${t.storage.key}', which the file lacks`);
  const n = numel(t.shape);
  const rowMajor: number[] = [];
  let s = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    rowMajor[i] = s;
    s *= t.shape[i];
  }
  const contiguous = t.shape.every((d, i) => d === 1 || t.stride[i] === rowMajor[i]);
  let maxIndex = t.offset;
  for (let i = 0; i < t.shape.length; i++) if (t.shape[i] > 0) maxIndex += (t.shape[i] - 1) * t.stride[i];
  if (n > 0 && (t.offset < 0 || maxIndex >= data.length || t.stride.some((x) => x < 0))) {
    throw new WeightFileError(
      source,
      `tensor '${name}' [${t.shape}] reaches element ${maxIndex} of a ${data.length}-element storage (corrupt file)`,
    );
  }
  if (contiguous)
    return { dtype: t.storage.dtype, shape: t.shape, data: data.slice(t.offset, t.offset + n) as RawTensor['data'] };
  const out = new (data.constructor as new (n: number) => RawTensor['data'])(n);
  const idx = new Array(t.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = t.offset;
    for (let i = 0; i < idx.length; i++) src += idx[i] * t.stride[i];
    out[k] = data[src];
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i] < t.shape[i]) break;
      idx[i] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: t.shape, data: out };
}

function collectTensors(source: string, root: PickleValue, storages: Storages): Map<string, RawTensor> {
  let dict = root;
  // Training checkpoints often wrap the weights: {'state_dict': …} or {'model': …}.
  for (const k of ['state_dict', 'model']) {
    if (dict instanceof Map && dict.get(k) instanceof Map) {
      dict = dict.get(k)!;
      break;
    }
  }
  if (!(dict instanceof Map))
    throw new WeightFileError(source, 'the pickle does not hold a dict of tensors (not a state dict)');
  const out = new Map<string, RawTensor>();
  for (const [k, v] of dict) {
    if (typeof k !== 'string') throw new WeightFileError(source, `state dict key ${String(k)} is not a string`);
    if (!v || typeof v !== 'object' || (v as TensorRef).kind !== 'tensor') {
      throw new WeightFileError(
        source,
        `state dict entry '${k}' is not a tensor (a full checkpoint? save model.state_dict())`,
      );
    }
    out.set(k, materialise(source, k, v as TensorRef, storages));
  }
  return out;
}

function wrapPickle<T>(source: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WeightFileError) throw e;
    if (e instanceof PickleError) throw new WeightFileError(source, e.message);
    // DataView ranges, invalid UTF-8 and the like: a corrupt file, reported as such
    throw new WeightFileError(source, `corrupt pickle (${(e as Error).message})`);
  }
}

/**
 * Reads a `torch.save(state_dict)` zip archive (`<name>/data.pkl` + `<name>/data/<key>` storages) with the
 * restricted unpickler. Unzipping: ./zip-reader (bounded; stored and deflated entries, ZIP64; PyTorch writes stored ones).
 */
export function readTorchZip(bytes: Uint8Array, source: string): WeightFile {
  const zip = (what: () => Uint8Array | ReturnType<typeof zipEntries>) => {
    try {
      return what();
    } catch (e) {
      if (e instanceof ZipError)
        throw new WeightFileError(source, `not a readable zip archive (truncated or corrupt: ${e.message})`);
      throw e;
    }
  };
  const index = zip(() => zipEntries(bytes)) as ReturnType<typeof zipEntries>;
  const read = (name: string): Uint8Array | undefined => {
    const entry = index.get(name);
    return entry ? (zip(() => zipEntryData(bytes, entry)) as Uint8Array) : undefined;
  };
  const pkl = [...index.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
  if (!pkl) throw new WeightFileError(source, 'zip archive without data.pkl (not a torch.save file)');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const refs = new Map<string, StorageRef>();
  const root = wrapPickle(source, () =>
    readPickle(read(pkl) as Uint8Array, (pid) => {
      const s = storageFromPid(pid);
      refs.set(s.key, s);
      return s;
    }),
  ).value;
  const storages: Storages = new Map();
  for (const [key, ref] of refs) {
    const raw = read(`${prefix}data/${key}`);
    if (!raw) throw new WeightFileError(source, `storage '${key}' is missing from the archive (truncated or corrupt)`);
    if (raw.length % DTYPE_BYTES[ref.dtype] !== 0) {
      throw new WeightFileError(source, `storage '${key}' has ${raw.length} bytes, not a whole number of ${ref.dtype}`);
    }
    storages.set(key, decodeElements(source, `storage ${key}`, raw, 0, raw.length / DTYPE_BYTES[ref.dtype], ref.dtype));
  }
  return { source, format: 'pytorch-zip', tensors: collectTensors(source, root, storages) };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * Reads the legacy (pre-1.6, `_use_new_zipfile_serialization=False`) torch.save format: pickles of the magic number,
 * protocol version and system info, the object (storages as persistent ids), the sorted storage keys, then per key
 * an 8-byte element count and the raw little-endian data.
 */
export function readTorchLegacy(bytes: Uint8Array, source: string): WeightFile {
  return wrapPickle(source, () => {
    const noPid = () => {
      throw new PickleError('unexpected persistent id in a header pickle');
    };
    const magic = readPickle(bytes, noPid, 0);
    if (magic.value !== LEGACY_MAGIC) {
      throw new WeightFileError(source, 'a pickle, but not a torch.save file (no legacy magic number); refused');
    }
    const version = readPickle(bytes, noPid, magic.end);
    if (version.value !== 1001)
      throw new WeightFileError(source, `legacy torch.save protocol ${String(version.value)} is not supported`);
    const sysInfo = readPickle(bytes, noPid, version.end);
    if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
      throw new WeightFileError(source, 'big-endian legacy torch.save files are not supported');
    }
    const refs = new Map<string, StorageRef>();
    const main = readPickle(
      bytes,
      (pid) => {
        if (pid.length >= 6 && pid[5] !== null) throw new PickleError('legacy storage views are not supported');
        const s = storageFromPid(pid);
        refs.set(s.key, s);
        return s;
      },
      sysInfo.end,
    );
    const keys = readPickle(bytes, noPid, main.end);
    if (!Array.isArray(keys.value))
      throw new WeightFileError(source, 'legacy torch.save: storage key list missing (corrupt)');
    let pos = keys.end;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const storages: Storages = new Map();
    for (const k of keys.value) {
      const key = String(k);
      const ref = refs.get(key);
      if (!ref)
        throw new WeightFileError(source, `legacy torch.save: storage '${key}' is listed but never used (corrupt)`);
      if (pos + 8 > bytes.length)
        throw new WeightFileError(source, `legacy torch.save: file ends before storage '${key}' (truncated)`);
      const count = Number(dv.getBigInt64(pos, true));
      pos += 8;
      storages.set(key, decodeElements(source, `storage ${key}`, bytes, pos, count, ref.dtype));
      pos += count * DTYPE_BYTES[ref.dtype];
    }
    return { source, format: 'pytorch-legacy' as const, tensors: collectTensors(source, main.value, storages) };
  });
}
