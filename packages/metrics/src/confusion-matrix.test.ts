import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, type IntArray } from './confusion-matrix.js';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/confusion.json', import.meta.url)), 'utf8'),
) as {
  numClasses: number;
  ignoreIndex: number;
  label: number[];
  pred: number[];
  confusion: number[][];
  iou: (number | null)[];
  miou: number;
  accuracy: (number | null)[];
  meanAccuracy: number;
  pixelAccuracy: number;
};
const nullToNaN = (a: (number | null)[]) => a.map((v) => (v === null ? Number.NaN : v));

// 3 classes, 10 pixels, one ignored (index 8).
//   label: 0 0 0 1 1 1 2 2 255 0
//   pred : 0 0 1 1 1 2 2 0  1  0
// Counted (gt,pred) pairs: (0,0)×3 (0,1)×1 (1,1)×2 (1,2)×1 (2,2)×1 (2,0)×1  → 9 pixels
//   confusion = [[3,1,0],[0,2,1],[1,0,1]]; row sums 4,3,2; column sums 4,3,2
//   IoU0 = 3/(4+4-3) = 3/5, IoU1 = 2/(3+3-2) = 1/2, IoU2 = 1/(2+2-1) = 1/3
//   mIoU = (3/5 + 1/2 + 1/3)/3 = 43/90
//   pixel accuracy = (3+2+1)/9 = 2/3; per-class accuracy 3/4, 2/3, 1/2 → mean 23/36
const LABEL = [0, 0, 0, 1, 1, 1, 2, 2, 255, 0];
const PRED = [0, 0, 1, 1, 1, 2, 2, 0, 1, 0];

const arrayTypes: [string, (a: number[]) => IntArray][] = [
  ['Uint8Array', (a) => Uint8Array.from(a)],
  ['Uint16Array', (a) => Uint16Array.from(a)],
  ['Int32Array', (a) => Int32Array.from(a)],
  ['Uint8ClampedArray', (a) => Uint8ClampedArray.from(a)],
];

describe('ConfusionMatrix', () => {
  for (const [typeName, make] of arrayTypes) {
    it(`hand-computed 3-class example (${typeName})`, () => {
      const cm = new ConfusionMatrix(3);
      cm.update(make(PRED), make(LABEL));
      const r = cm.compute();
      expect(r.confusion).toEqual([
        [3, 1, 0],
        [0, 2, 1],
        [1, 0, 1],
      ]);
      expect(r.total).toBe(9);
      expect(r.iou[0]).toBeCloseTo(3 / 5, 12);
      expect(r.iou[1]).toBeCloseTo(1 / 2, 12);
      expect(r.iou[2]).toBeCloseTo(1 / 3, 12);
      expect(r.miou).toBeCloseTo(43 / 90, 12);
      expect(r.pixelAccuracy).toBeCloseTo(2 / 3, 12);
      expect(r.accuracy.map((v) => +v.toFixed(12))).toEqual([3 / 4, 2 / 3, 1 / 2].map((v) => +v.toFixed(12)));
      expect(r.meanAccuracy).toBeCloseTo(23 / 36, 12);
    });
  }

  it('mixed array types (pred Uint8, label Int32) give the same counts', () => {
    const cm = new ConfusionMatrix(3).update(Uint8Array.from(PRED), Int32Array.from(LABEL));
    expect(cm.compute().confusion).toEqual([
      [3, 1, 0],
      [0, 2, 1],
      [1, 0, 1],
    ]);
  });

  it('skips ignore pixels whatever the prediction there, with a custom ignore index', () => {
    // ignoreIndex 7 on 2 classes: label 7 pixels have out-of-range predictions (5) which must not throw.
    // label: 0 7 1 7 1 ; pred: 0 5 0 5 1 → pairs (0,0) (1,0) (1,1)
    // confusion [[1,0],[1,1]]; IoU0 = 1/(1+2-1) = 1/2; IoU1 = 1/(2+1-1) = 1/2
    const cm = new ConfusionMatrix(2, { ignoreIndex: 7 });
    cm.update(Uint8Array.from([0, 5, 0, 5, 1]), Uint8Array.from([0, 7, 1, 7, 1]));
    const r = cm.compute();
    expect(r.confusion).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(r.iou).toEqual([0.5, 0.5]);
    // With ignoreIndex null, 255 is an out-of-range label.
    expect(() => new ConfusionMatrix(2, { ignoreIndex: null }).update(Uint8Array.of(0), Uint8Array.of(255))).toThrow(
      /label value 255 at index 0/,
    );
  });

  it('absent classes: IoU NaN and left out of the means; predicted-only class has IoU 0', () => {
    // 4 classes. label: 0 0 1 1 ; pred: 0 2 1 1. Class 3 nowhere; class 2 only predicted.
    // confusion rows: g0 → p0 1, p2 1; g1 → p1 2.
    // IoU0 = 1/(2+1-1) = 1/2, IoU1 = 2/(2+2-2) = 1, IoU2 = 0/(0+1-0) = 0, IoU3 = 0/0 = NaN
    // mIoU = (1/2 + 1 + 0)/3 = 1/2 (class 3 excluded, class 2 included)
    // accuracy: 1/2, 1, NaN (no class-2 labels), NaN → mean 3/4
    const cm = new ConfusionMatrix(4).update(Uint8Array.from([0, 2, 1, 1]), Uint8Array.from([0, 0, 1, 1]));
    const r = cm.compute();
    expect(r.iou.slice(0, 3)).toEqual([0.5, 1, 0]);
    expect(Number.isNaN(r.iou[3])).toBe(true);
    expect(r.miou).toBe(0.5);
    expect(r.accuracy.slice(0, 2)).toEqual([0.5, 1]);
    expect(Number.isNaN(r.accuracy[2]) && Number.isNaN(r.accuracy[3])).toBe(true);
    expect(r.meanAccuracy).toBe(0.75);
    expect(r.pixelAccuracy).toBe(3 / 4);
  });

  it('empty matrix: everything NaN', () => {
    const r = new ConfusionMatrix(2).update(Uint8Array.of(1), Uint8Array.of(255)).compute();
    expect(r.total).toBe(0);
    expect(r.iou.every(Number.isNaN) && Number.isNaN(r.miou) && Number.isNaN(r.pixelAccuracy)).toBe(true);
  });

  it('matches numpy bincount on 2000 random pixels (fixtures/make_confusion.py)', () => {
    for (const make of [(a: number[]) => Uint8Array.from(a), (a: number[]) => Int32Array.from(a)]) {
      const cm = new ConfusionMatrix(fixture.numClasses, { ignoreIndex: fixture.ignoreIndex });
      cm.update(make(fixture.pred), make(fixture.label));
      const r = cm.compute();
      expect(r.confusion).toEqual(fixture.confusion);
      const iou = nullToNaN(fixture.iou);
      for (let c = 0; c < iou.length; c++) {
        if (Number.isNaN(iou[c])) expect(Number.isNaN(r.iou[c])).toBe(true);
        else expect(r.iou[c]).toBeCloseTo(iou[c], 12);
      }
      const acc = nullToNaN(fixture.accuracy);
      for (let c = 0; c < acc.length; c++) {
        if (Number.isNaN(acc[c])) expect(Number.isNaN(r.accuracy[c])).toBe(true);
        else expect(r.accuracy[c]).toBeCloseTo(acc[c], 12);
      }
      expect(r.miou).toBeCloseTo(fixture.miou, 12);
      expect(r.meanAccuracy).toBeCloseTo(fixture.meanAccuracy, 12);
      expect(r.pixelAccuracy).toBeCloseTo(fixture.pixelAccuracy, 12);
    }
  });

  it('merge of per-chunk matrices equals one big update; reset zeroes', () => {
    const pred = Uint8Array.from(fixture.pred);
    const label = Uint8Array.from(fixture.label);
    const whole = new ConfusionMatrix(6).update(pred, label);
    const a = new ConfusionMatrix(6).update(pred.subarray(0, 700), label.subarray(0, 700));
    const b = new ConfusionMatrix(6).update(pred.subarray(700, 1500), label.subarray(700, 1500));
    const c = new ConfusionMatrix(6).update(pred.subarray(1500), label.subarray(1500));
    a.merge(b).merge(c);
    expect(a.compute()).toEqual(whole.compute());
    // Sequential updates on one matrix accumulate the same way.
    const seq = new ConfusionMatrix(6).update(pred.subarray(0, 1000), label.subarray(0, 1000));
    seq.update(Int32Array.from(pred.subarray(1000)), Int32Array.from(label.subarray(1000)));
    expect(Array.from(seq.counts)).toEqual(Array.from(whole.counts));
    a.reset();
    expect(a.total).toBe(0);
    expect(Array.from(a.counts).every((v) => v === 0)).toBe(true);
  });

  it('errors name the value and index, and leave the matrix unchanged', () => {
    for (const make of [(a: number[]) => Uint8Array.from(a), (a: number[]) => Int16Array.from(a)]) {
      const cm = new ConfusionMatrix(19).update(make([1, 2]), make([1, 2]));
      const before = Array.from(cm.counts);
      expect(() => cm.update(make([0, 0, 0, 0, 0, 0, 0, 0]), make([0, 1, 2, 255, 3, 4, 5, 19]))).toThrow(
        'label value 19 at index 7',
      );
      expect(() => cm.update(make([0, 0, 20, 0]), make([0, 0, 3, 0]))).toThrow('prediction value 20 at index 2');
      expect(() => cm.update(make([0, 0]), make([0, 0, 0]))).toThrow(/pred has 2 values but label has 3/);
      expect(Array.from(cm.counts)).toEqual(before);
    }
    expect(() => new ConfusionMatrix(3).update(Int32Array.of(0, -1), Int32Array.of(0, 1))).toThrow(
      'prediction value -1 at index 1',
    );
    expect(() => new ConfusionMatrix(3).update(Int8Array.of(-2), Int8Array.of(-3))).toThrow(
      'label value -3 at index 0',
    );
    expect(() => new ConfusionMatrix(3).merge(new ConfusionMatrix(4))).toThrow(/numClasses 3 vs 4/);
    expect(() => new ConfusionMatrix(0)).toThrow(/positive integer/);
    expect(() => new ConfusionMatrix(3, { ignoreIndex: 1 })).toThrow(/valid class index/);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
    expect(() => new ConfusionMatrix(3).update([0] as any, [0] as any)).toThrow(/integer typed arrays/);
  });

  it('byte and generic paths both give the hand-counted matrix of a 6-pixel map', () => {
    // (label, pred): (0,0) (1,1) (2,1) (2,2) (255, ignored) (1,0) → counts[label·3 + pred]
    const pred = [0, 1, 1, 2, 2, 0];
    const label = [0, 1, 2, 2, 255, 1];
    const expected = [1, 0, 0, 1, 1, 0, 0, 1, 1];
    const bytes = new ConfusionMatrix(3).update(Uint8Array.from(pred), Uint8Array.from(label));
    const generic = new ConfusionMatrix(3).update(Uint16Array.from(pred), Uint16Array.from(label));
    expect(Array.from(bytes.counts)).toEqual(expected);
    expect(Array.from(generic.counts)).toEqual(expected);
  });

  it('byte and generic paths agree on a large random map with many classes', () => {
    let s = 12345;
    const rand = () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s >>> 8;
    };
    const n = 200;
    const len = 50_000;
    const pred = new Uint8Array(len);
    const label = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      pred[i] = rand() % n;
      label[i] = rand() % 13 === 0 ? 255 : rand() % n;
    }
    const bytes = new ConfusionMatrix(n).update(pred, label);
    const generic = new ConfusionMatrix(n).update(Uint16Array.from(pred), Uint16Array.from(label));
    expect(Array.from(bytes.counts)).toEqual(Array.from(generic.counts));
    // Independent count of a few cells by filtering.
    for (const [g, p] of [
      [0, 0],
      [17, 199],
      [199, 3],
    ]) {
      let k = 0;
      for (let i = 0; i < len; i++) if (label[i] === g && pred[i] === p) k++;
      expect(bytes.counts[g * n + p]).toBe(k);
    }
    expect(bytes.total).toBe(label.filter((v) => v !== 255).length);
  });
});
