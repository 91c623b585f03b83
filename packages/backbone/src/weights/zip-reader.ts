import { inflateSync } from 'fflate';

/**
 * A bounded reader of zip archives as torch.save writes them (PKZIP with stored or deflated entries, ZIP64 when
 * large). Every offset and size is checked against the buffer before use and the entry count against the central
 * directory's size, so a corrupt or hostile archive is an error, never a hang or a huge allocation. Deflated entries
 * are inflated (fflate) into a buffer of exactly their declared size.
 */
export class ZipError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

function u16(b: DataView, at: number): number {
  if (at < 0 || at + 2 > b.byteLength) throw new ZipError(`field at byte ${at} is past the end of the archive`);
  return b.getUint16(at, true);
}
function u32(b: DataView, at: number): number {
  if (at < 0 || at + 4 > b.byteLength) throw new ZipError(`field at byte ${at} is past the end of the archive`);
  return b.getUint32(at, true);
}
function u64(b: DataView, at: number): number {
  if (at < 0 || at + 8 > b.byteLength) throw new ZipError(`field at byte ${at} is past the end of the archive`);
  const v = b.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`a 64-bit size or offset (${v}) is out of range`);
  return Number(v);
}

interface Entry {
  name: string;
  method: number;
  compressed: number;
  size: number;
  localOffset: number;
}

/** The archive's entries by name (data not yet read). */
export function zipEntries(bytes: Uint8Array): Map<string, Entry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: the last EOCD signature within the final 22 + 65,535 bytes.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - MAX_COMMENT); at--) {
    if (view.getUint32(at, true) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (truncated or not a zip archive)');
  let count = u16(view, eocd + 10);
  let dirSize = u32(view, eocd + 12);
  let dirOffset = u32(view, eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(view, loc) !== ZIP64_LOCATOR) throw new ZipError('ZIP64 fields without a ZIP64 locator');
    const z = u64(view, loc + 8);
    if (u32(view, z) !== ZIP64_EOCD) throw new ZipError('ZIP64 locator does not point at a ZIP64 record');
    count = u64(view, z + 32);
    dirSize = u64(view, z + 40);
    dirOffset = u64(view, z + 48);
  }
  if (dirOffset + dirSize > bytes.length) throw new ZipError('central directory runs past the end (truncated)');
  // each central record is at least 46 bytes: a count beyond that is corrupt
  if (count * 46 > dirSize) throw new ZipError(`central directory of ${dirSize} bytes cannot hold ${count} entries`);
  const entries = new Map<string, Entry>();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (u32(view, at) !== CENTRAL) throw new ZipError(`central directory entry ${i} is corrupt`);
    const method = u16(view, at + 10);
    let compressed = u32(view, at + 20);
    let size = u32(view, at + 24);
    const nameLen = u16(view, at + 28);
    const extraLen = u16(view, at + 30);
    const commentLen = u16(view, at + 32);
    let localOffset = u32(view, at + 42);
    const nameEnd = at + 46 + nameLen;
    if (nameEnd + extraLen + commentLen > dirOffset + dirSize) throw new ZipError(`entry ${i} runs past the directory`);
    const name = decoder.decode(bytes.subarray(at + 46, nameEnd));
    // ZIP64 extra field (id 1): the 64-bit values of the fields set to 0xffffffff, in order
    for (let e = nameEnd; e + 4 <= nameEnd + extraLen; ) {
      const id = u16(view, e);
      const len = u16(view, e + 2);
      if (id === 1) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = u64(view, p);
          p += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = u64(view, p);
          p += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(view, p);
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, compressed, size, localOffset });
    at = nameEnd + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one entry (stored: a view; deflated: inflated into exactly its declared size). */
export function zipEntryData(bytes: Uint8Array, entry: Entry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localOffset;
  if (u32(view, at) !== LOCAL) throw new ZipError(`local header of '${entry.name}' is corrupt`);
  const start = at + 30 + u16(view, at + 26) + u16(view, at + 28);
  const end = start + entry.compressed;
  if (end > bytes.length) throw new ZipError(`'${entry.name}' runs past the end of the archive (truncated)`);
  const data = bytes.subarray(start, end);
  if (entry.method === 0) {
    if (entry.compressed !== entry.size) throw new ZipError(`stored entry '${entry.name}' has two different sizes`);
    return data;
  }
  if (entry.method !== 8) throw new ZipError(`'${entry.name}' uses compression method ${entry.method}`);
  // a deflate stream expands at most ~1032:1: a larger declared size is a lie, not an allocation to make
  if (entry.size > data.length * 1032 + 1024)
    throw new ZipError(`'${entry.name}' declares ${entry.size} bytes from ${data.length} compressed`);
  const out = new Uint8Array(entry.size);
  let got: Uint8Array;
  try {
    got = inflateSync(data, { out });
  } catch (e) {
    throw new ZipError(`'${entry.name}' does not inflate (${(e as Error).message})`);
  }
  if (got.length !== entry.size)
    throw new ZipError(`'${entry.name}' inflates to ${got.length} bytes, not ${entry.size}`);
  return got;
}
