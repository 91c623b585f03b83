/**
 * SynthCity: a built-in street-scene segmentation benchmark, generated on the fly from a seed (no download).
 *
 * Every image is a pinhole-camera view of a procedurally laid out street: sky, building rows with windows on both
 * sides (sometimes closed by a cross row at the street's end), a road with lanes, dashed/edge lines and zebra
 * crossings, sidewalks with curbs, street lights, trees, cars (rear/front and side faces, windows, wheels) and
 * pedestrians, all placed in 3-D world coordinates so sizes follow depth. Labels are Cityscapes train ids
 * ({@link SYNTHCITY_CLASSES}); other train ids never occur.
 *
 * Two looks over the same scene distribution (see README "SynthCity"):
 * - `source` — "rendered": flat, saturated class colours with small per-instance variation, simple face shading,
 *   sharp edges, fixed camera (height 1.6 m, no roll, little pitch jitter).
 * - `target-*` / `pretrain` — "real": a different palette per class (darker warm asphalt, brick/concrete/plaster
 *   buildings, olive vegetation, realistic car paints, dark clothing, paler/overcast skies), surface textures (value
 *   noise, paving joints), an uneven illumination field and vignetting, exposure/gamma/white-balance/saturation
 *   changes, optical blur and sensor noise, and a different camera (lower, different focal length, horizon jitter and
 *   roll).
 *
 * Determinism: image `i` of split `s` under seed `k` depends on `(k, s, i, width, height)` only.
 */
export {
  SYNTHCITY_CLASSES,
  SYNTHCITY_DEFAULT_LENGTHS,
  type SynthCitySplit,
} from './constants.js';
export { renderSynthCity, type SynthCityOptions, synthCityDataset } from './dataset.js';
