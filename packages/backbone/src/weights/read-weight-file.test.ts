import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWeightFile, readWeightFile } from './read-weight-file.js';
import { halfToFloat } from './weight-file.js';

const dir = join(__dirname, '../../fixtures/weights');
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')).dtypes as Record<
  string,
  { shape: number[]; values: (number | string)[] }
>;
const EVIL_MARK = '/tmp/road-evil-pickle-ran';

describe('weight file readers (PyTorch-written fixtures)', () => {
  for (const [file, format] of [
    ['dtypes.safetensors', 'safetensors'],
    ['dtypes.pth', 'pytorch-zip'],
    ['dtypes.legacy.pth', 'pytorch-legacy'],
  ] as const) {
    it(`${file}: every dtype, shape and value as PyTorch wrote them`, () => {
      const w = readWeightFile(join(dir, file));
      expect(w.format).toBe(format);
      expect([...w.tensors.keys()]).toEqual(Object.keys(ref));
      expect(w.tensors.get('f16')!.dtype).toBe('float16');
      expect(w.tensors.get('bf16')!.dtype).toBe('bfloat16');
      expect(w.tensors.get('i64')!.dtype).toBe('int64');
      for (const [name, r] of Object.entries(ref)) {
        const t = w.tensors.get(name)!;
        expect(t.shape, name).toEqual(r.shape);
        if (name === 'i64') expect(Array.from(t.data as BigInt64Array, String)).toEqual(r.values);
        else expect(Array.from(t.data as Float32Array)).toEqual((r.values as number[]).map(Math.fround));
      }
    });
  }

  it('decodes float16 specials', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads the Keras HDF5 layout (layer_names / weight_names)', () => {
    const w = readWeightFile(join(dir, 'vgg16-w16-keras-notop.h5'));
    expect(w.format).toBe('keras-h5');
    expect(w.tensors.size).toBe(26);
    expect(w.tensors.get('block1_conv1/kernel:0')!.shape).toEqual([3, 3, 3, 4]);
    expect(w.tensors.get('block5_conv3/bias:0')!.shape).toEqual([32]);
  });

  it('refuses pickles that would run code under torch.load, naming the global, and runs nothing', () => {
    rmSync(EVIL_MARK, { force: true });
    expect(() => readWeightFile(join(dir, 'evil-os-system.pth'))).toThrow(
      /evil-os-system\.pth: refused: .*'posix\.system'/,
    );
    expect(() => readWeightFile(join(dir, 'evil-eval.pth'))).toThrow(/evil-eval\.pth: refused: .*'__builtin__\.eval'/);
    expect(() => readWeightFile(join(dir, 'evil.pkl'))).toThrow(/evil\.pkl: refused: .*'posix\.system'/);
    expect(existsSync(EVIL_MARK)).toBe(false);
  });

  it('refuses opcodes a state dict does not need', () => {
    // protocol 2, GLOBAL collections OrderedDict, EMPTY_TUPLE, then OBJ ('o'), which builds arbitrary objects
    const bytes = new Uint8Array([
      0x80,
      2,
      ...new TextEncoder().encode('ccollections\nOrderedDict\n'),
      0x28,
      0x6f,
      0x2e,
    ]);
    expect(() => parseWeightFile(bytes, 'obj.pkl')).toThrow(/obj\.pkl: refused: pickle opcode 0x6f \('o'\)/);
  });

  it('truncated, corrupt and missing files give one error naming the file', () => {
    expect(() => readWeightFile(join(dir, 'truncated.pth'))).toThrow(/truncated\.pth: .*(truncated|corrupt)/);
    expect(() => readWeightFile(join(dir, 'truncated.safetensors'))).toThrow(
      /truncated\.safetensors: .*(truncated|corrupt)/,
    );
    expect(() => readWeightFile(join(dir, 'truncated.legacy.pth'))).toThrow(/truncated\.legacy\.pth: /);
    expect(() => readWeightFile(join(dir, 'nope.pth'))).toThrow(/nope\.pth: cannot read the weight file \(ENOENT\)/);
    expect(() => parseWeightFile(new TextEncoder().encode('hello world, not weights'), 'junk.bin')).toThrow(
      /junk\.bin: unknown weight format/,
    );
    const h5 = readFileSync(join(dir, 'vgg16-w16-keras-notop.h5'));
    expect(() => parseWeightFile(h5.subarray(0, 3000), 'cut.h5')).toThrow(/cut\.h5: /);
  });
});

describe('weight file readers: damaged pickles', () => {
  it('a bare pickle that is not torch.save output, and invalid UTF-8, are errors naming the file', () => {
    // protocol 2, SHORT_BINUNICODE 'hi', STOP: a valid pickle, but no torch.save magic number
    expect(() => parseWeightFile(new Uint8Array([0x80, 2, 0x8c, 2, 0x68, 0x69, 0x2e]), 'plain.pkl')).toThrow(
      /plain\.pkl: a pickle, but not a torch\.save file/,
    );
    expect(() => parseWeightFile(new Uint8Array([0x80, 2, 0x8c, 2, 0xff, 0xfe, 0x2e]), 'utf8.pkl')).toThrow(
      /utf8\.pkl: corrupt pickle/,
    );
  });
});
