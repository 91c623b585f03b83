import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, decodeEvent, encodeEvent, maskCrc, readEvents, tfEventsWriter, tfRecord } from './tfevents.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'tfevents');
const bytes = (s: string) => new TextEncoder().encode(s);

describe('CRC32C and the TFRecord mask', () => {
  it('matches the CRC-32C check values (RFC 3720 B.4 and the catalogue check "123456789")', () => {
    expect(crc32c(bytes('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) appendix B.4: 32 bytes of zeros, of 0xff, ascending 0..31, descending 31..0
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('masks as ((crc >>> 15) | (crc << 17)) + 0xa282ead8 mod 2^32', () => {
    // by hand: 0xe3069283 >>> 15 = 0x1c60d; its low 15 bits 0x1283 << 17 = 0x25060000; OR = 0x2507c60d;
    // + 0xa282ead8 = 0xc78ab0e5
    expect(maskCrc(0xe3069283)).toBe(0xc78ab0e5);
    expect(maskCrc(0)).toBe(0xa282ead8);
    // overflow wraps: 0xffffffff rotated is 0xffffffff; + 0xa282ead8 = 0x1a282ead7 → 0xa282ead7
    expect(maskCrc(0xffffffff)).toBe(0xa282ead7);
  });

  it('frames a record: uint64 length, masked CRC of the length bytes, data, masked CRC of the data', () => {
    const data = bytes('abc');
    const r = tfRecord(data);
    const v = new DataView(r.buffer);
    expect(r.length).toBe(8 + 4 + 3 + 4);
    expect(Number(v.getBigUint64(0, true))).toBe(3);
    expect(v.getUint32(8, true)).toBe(maskCrc(crc32c(Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0))));
    expect(Array.from(r.subarray(12, 15))).toEqual([97, 98, 99]);
    expect(v.getUint32(15, true)).toBe(maskCrc(crc32c(data)));
  });
});

describe('Event protos', () => {
  it('encodes the field bytes by hand: wall_time (fixed64), step (varint), file_version, summary.value', () => {
    const e = encodeEvent({ wallTime: 1, step: 300, scalars: [{ tag: 'a', value: 2 }] });
    // 0x09 + double 1.0 LE | 0x10 + varint 300 = ac 02 | 0x2a len { 0x0a len { 0x0a 01 'a' | 0x15 + float 2.0 LE } }
    expect(Array.from(e)).toEqual([
      0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0xac, 0x02, 0x2a, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0, 0, 0,
      0x40,
    ]);
    expect(Array.from(encodeEvent({ wallTime: 0, step: 0, fileVersion: 'v' }))).toEqual([
      0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x01, 0x76,
    ]);
    expect(decodeEvent(e)).toEqual({ wallTime: 1, step: 300, scalars: [{ tag: 'a', value: 2 }] });
  });
});

describe('tfEventsWriter', () => {
  const input = JSON.parse(readFileSync(join(FIXTURES, 'sample-input.json'), 'utf8')) as {
    start: number;
    scalars: { tag: string; value: number; step: number; wallTime: number }[];
  };
  const writeSample = () => {
    let clock = input.start;
    const w = tfEventsWriter(mkdtempSync(join(tmpdir(), 'road-tfevents-')), { now: () => clock, suffix: 'sample' });
    for (const s of input.scalars) {
      clock = s.wallTime;
      w.scalar(s.tag, s.value, s.step);
    }
    w.flush();
    return w.path;
  };

  it('writes the committed sample byte for byte, and TensorBoard 2.21 read that file as the fixture says', () => {
    const path = writeSample();
    expect(path).toMatch(/events\.out\.tfevents\.1764900000\.sample$/);
    expect(Buffer.compare(readFileSync(path), readFileSync(join(FIXTURES, 'sample.tfevents')))).toBe(0);
    // sample.tensorboard.json: the output of read-with-tensorboard.py (TensorBoard's own loader, which checks CRCs)
    const tb = JSON.parse(readFileSync(join(FIXTURES, 'sample.tensorboard.json'), 'utf8')) as {
      events: {
        wall_time: number;
        step: number;
        file_version?: string;
        values?: { tag: string; simple_value: number }[];
      }[];
      scalars: Record<string, [number, number][]>;
    };
    const ours = readEvents(path);
    expect(tb.events.length).toBe(1 + input.scalars.length);
    expect(tb.events[0]).toEqual({ wall_time: input.start, step: 0, file_version: 'brain.Event:2' });
    expect(ours.length).toBe(tb.events.length);
    for (let i = 0; i < ours.length; i++) {
      expect(ours[i].wallTime).toBe(tb.events[i].wall_time);
      expect(ours[i].step).toBe(tb.events[i].step);
      expect(ours[i].fileVersion).toBe(tb.events[i].file_version);
      expect(ours[i].scalars?.map((s) => [s.tag, s.value])).toEqual(
        tb.events[i].values?.map((v) => [v.tag, v.simple_value]),
      );
    }
    // what the dashboard shows: every tag with its (step, float32 value)
    for (const s of input.scalars) expect(tb.scalars[s.tag]).toEqual([[s.step, Math.fround(s.value)]]);
  });

  it('buffers scalars until flush; the file starts with the file_version event', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-tfevents-'));
    const w = tfEventsWriter(dir);
    expect(readdirSync(dir)).toEqual([w.path.slice(dir.length + 1)]);
    w.scalar('x', 1, 1);
    expect(readEvents(w.path).map((e) => e.fileVersion)).toEqual(['brain.Event:2']);
    w.flush();
    expect(readEvents(w.path)[1].scalars).toEqual([{ tag: 'x', value: 1 }]);
  });

  it('a corrupt or cut file is one error naming the file and the record offset', () => {
    const path = writeSample();
    const b = readFileSync(path);
    const first = 16 + Number(b.readBigUint64LE(0));
    b[first + 12 + 3] ^= 0xff; // a data byte of the second record
    const bad = join(mkdtempSync(join(tmpdir(), 'road-tfevents-')), 'events.out.tfevents.bad');
    writeFileSync(bad, b);
    expect(() => readEvents(bad)).toThrow(`${bad}: record at byte ${first}: data CRC mismatch (corrupt file)`);
    const cut = `${bad}-cut`;
    writeFileSync(cut, readFileSync(path).subarray(0, first + 5));
    expect(() => readEvents(cut)).toThrow(`${cut}: record at byte ${first} is cut short (no complete header)`);
    appendFileSync(cut, Buffer.alloc(20));
    expect(() => readEvents(cut)).toThrow(/length CRC mismatch/);
  });
});
