import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * TensorBoard event files (`events.out.tfevents.*`), written by hand on every backend.
 *
 * The format (TensorFlow's TFRecord framing of `Event` protos):
 * - each record: uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes, the data, uint32 masked
 *   CRC32C of the data; masked(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32);
 * - the first record is an `Event` with `file_version: "brain.Event:2"`;
 * - each scalar is an `Event { wall_time (1, double), step (2, int64), summary (5) { value (1) { tag (1, string),
 *   simple_value (2, float) } } }`.
 * The protobuf encoding of these few fields is written here (varints, fixed64 double, fixed32 float,
 * length-delimited strings and messages).
 */

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`: crc32c("123456789") = 0xE3069283. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: ((crc >>> 15) | (crc << 17)) + 0xa282ead8, modulo 2^32. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskCrc(crc32c(data)), true);
  return out;
}

class ProtoWriter {
  private bytes: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1).bytes.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5).bytes.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field: number, b: Uint8Array): this {
    this.tag(field, 2)
      .varint(b.length)
      .bytes.push(...b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** One event as {@link readEvents} returns it. */
export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Scalars of the event's summary (tag → simple_value, a float32). */
  scalars?: { tag: string; value: number }[];
}

/** The protobuf bytes of an `Event` (wall_time, step, file_version or a summary of simple_value scalars). */
export function encodeEvent(e: TfEvent): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime);
  if (e.step !== 0) w.int64(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars?.length) {
    const summary = new ProtoWriter();
    for (const s of e.scalars) summary.bytesField(1, new ProtoWriter().string(1, s.tag).float(2, s.value).finish());
    w.bytesField(5, summary.finish());
  }
  return w.finish();
}

/** Writes scalars as TensorBoard event files. */
export interface ScalarWriter {
  /** The event file written. */
  readonly path: string;
  scalar(name: string, value: number, step: number): void;
  /** Writes the pending events to the file. */
  flush(): void;
}

let filesOpened = 0;

/**
 * A TensorBoard event file in `logdir` (`events.out.tfevents.<seconds>.<host>.<pid>.<n>`, n counting the files this
 * process opened), on every backend: the
 * first record (file_version "brain.Event:2") is written at once; scalars are buffered and written by
 * {@link ScalarWriter.flush}, and by themselves every 200 events or 10 seconds. `now` (seconds) is for tests.
 */
export function tfEventsWriter(logdir: string, options: { now?: () => number; suffix?: string } = {}): ScalarWriter {
  const now = options.now ?? (() => Date.now() / 1000);
  const t0 = now();
  const path = join(
    logdir,
    `events.out.tfevents.${Math.floor(t0)}.${options.suffix ?? `${hostname()}.${process.pid}.${filesOpened++}`}`,
  );
  closeSync(openSync(path, 'a'));
  appendFileSync(path, tfRecord(encodeEvent({ wallTime: t0, step: 0, fileVersion: 'brain.Event:2' })));
  let pending: Uint8Array[] = [];
  let lastFlush = Date.now();
  const flush = () => {
    if (!pending.length) return;
    const all = new Uint8Array(pending.reduce((n, r) => n + r.length, 0));
    let o = 0;
    for (const r of pending) {
      all.set(r, o);
      o += r.length;
    }
    pending = [];
    lastFlush = Date.now();
    appendFileSync(path, all);
  };
  return {
    path,
    scalar(name, value, step) {
      pending.push(tfRecord(encodeEvent({ wallTime: now(), step, scalars: [{ tag: name, value }] })));
      if (pending.length >= 200 || Date.now() - lastFlush > 10_000) flush();
    },
    flush,
  };
}

class ProtoReader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly where: string,
  ) {}
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.b.length || shift > 63n) throw new Error(`${this.where}: bad varint`);
      const byte = this.b[this.pos++];
      v |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error(`${this.where}: field runs past the end`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Next field: number, wire type and its raw value (varint as bigint, else bytes). */
  field(): { no: number; wire: number; v: bigint | Uint8Array } {
    const key = Number(this.varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) return { no, wire, v: this.varint() };
    if (wire === 1) return { no, wire, v: this.take(8) };
    if (wire === 2) return { no, wire, v: this.take(Number(this.varint())) };
    if (wire === 5) return { no, wire, v: this.take(4) };
    throw new Error(`${this.where}: unsupported wire type ${wire} (field ${no})`);
  }
}

const f64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
const f32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);

/** Decodes an `Event` (the fields {@link encodeEvent} writes; others are skipped). */
export function decodeEvent(data: Uint8Array, where = 'event'): TfEvent {
  const r = new ProtoReader(data, where);
  const e: TfEvent = { wallTime: 0, step: 0 };
  while (!r.done) {
    const { no, wire, v } = r.field();
    if (no === 1 && wire === 1) e.wallTime = f64(v as Uint8Array);
    else if (no === 2 && wire === 0) e.step = Number(BigInt.asIntN(64, v as bigint));
    else if (no === 3 && wire === 2) e.fileVersion = new TextDecoder().decode(v as Uint8Array);
    else if (no === 5 && wire === 2) {
      const s = new ProtoReader(v as Uint8Array, where);
      e.scalars = [];
      while (!s.done) {
        const value = s.field();
        if (value.no !== 1 || value.wire !== 2) continue;
        const vr = new ProtoReader(value.v as Uint8Array, where);
        let tag = '';
        let simple = Number.NaN;
        while (!vr.done) {
          const x = vr.field();
          if (x.no === 1 && x.wire === 2) tag = new TextDecoder().decode(x.v as Uint8Array);
          else if (x.no === 2 && x.wire === 5) simple = f32(x.v as Uint8Array);
        }
        e.scalars.push({ tag, value: simple });
      }
    }
  }
  return e;
}

/**
 * Reads an event file, checking both CRCs of every record; a bad record is an error naming the file and the
 * byte offset. A last record cut short (a writer killed mid-write) is an error too.
 */
export function readEvents(path: string): TfEvent[] {
  const b = new Uint8Array(readFileSync(path));
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const events: TfEvent[] = [];
  let o = 0;
  while (o < b.length) {
    if (o + 12 > b.length) throw new Error(`${path}: record at byte ${o} is cut short (no complete header)`);
    if (view.getUint32(o + 8, true) !== maskCrc(crc32c(b.subarray(o, o + 8))))
      throw new Error(`${path}: record at byte ${o}: length CRC mismatch (corrupt file)`);
    const len = Number(view.getBigUint64(o, true));
    if (o + 16 + len > b.length) throw new Error(`${path}: record at byte ${o} is cut short (${len} bytes announced)`);
    const data = b.subarray(o + 12, o + 12 + len);
    if (view.getUint32(o + 12 + len, true) !== maskCrc(crc32c(data)))
      throw new Error(`${path}: record at byte ${o}: data CRC mismatch (corrupt file)`);
    events.push(decodeEvent(data, `${path}: record at byte ${o}`));
    o += 16 + len;
  }
  return events;
}
