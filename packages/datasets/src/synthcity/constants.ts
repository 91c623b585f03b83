// SynthCity's classes, splits and the types the generator's parts share.
/** The Cityscapes train ids that SynthCity uses. */
export const SYNTHCITY_CLASSES = {
  road: 0,
  sidewalk: 1,
  building: 2,
  pole: 5,
  vegetation: 8,
  sky: 10,
  person: 11,
  car: 13,
} as const;

/**
 * SynthCity splits: labelled `source`; target-look `target-train` (adaptation), `target-val` (selection only) and
 * `target-test` (reported numbers; nothing is tuned on it); unlabeled pools `neutral` (a third look, neither source
 * nor target: the stand-in for ImageNet when pretraining a teacher) and `pretrain` (target look, kept for old runs).
 */
export type SynthCitySplit = 'source' | 'target-train' | 'target-val' | 'target-test' | 'pretrain' | 'neutral';

/** Default number of images per split (the generator can make any number; `length` overrides). */
export const SYNTHCITY_DEFAULT_LENGTHS: Readonly<Record<SynthCitySplit, number>> = {
  source: 2000,
  'target-train': 2000,
  'target-val': 200,
  'target-test': 500,
  pretrain: 4000,
  neutral: 4000,
};

export const SPLITS: readonly SynthCitySplit[] = [
  'source',
  'target-train',
  'target-val',
  'target-test',
  'pretrain',
  'neutral',
];
/** Splits whose samples carry no label. */
export const UNLABELED: readonly SynthCitySplit[] = ['pretrain', 'neutral'];

export const {
  road: ROAD,
  sidewalk: SIDEWALK,
  building: BUILDING,
  pole: POLE,
  vegetation: VEG,
  sky: SKY,
} = SYNTHCITY_CLASSES;
export const PERSON = SYNTHCITY_CLASSES.person;
export const CAR = SYNTHCITY_CLASSES.car;

export type RGB = [number, number, number];
export type Domain = 'source' | 'target' | 'neutral';
