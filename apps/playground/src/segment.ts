// The Segment tab: a model exported by `road export --web` (or the bundled SynthCity demo), run on a dropped image;
// the colourised prediction over the image with an opacity slider, and a legend of the classes.
import { loadSegmentationNet, type SegmentationNet } from '@road/backbone';
import { normalizeImage } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';

/** road-web.json as `road export --web` writes it (the fields the page uses). */
export interface WebMeta {
  format: string;
  net: { name: string; numClasses: number };
  classes: string[];
  palette: [number, number, number][];
  presentClasses: number[];
  normalization: { mode: 'imagenet' | 'caffe' | 'tf' };
}

/** The last prediction (read by the browser tests through `window.playground.segment`). */
export interface SegmentState {
  model: string | null;
  width: number;
  height: number;
  /** Predicted class id per pixel, row-major. */
  classes: number[];
  error: string | null;
}

/** Largest side an image is scaled to before prediction (phones make 12-megapixel photos). */
export const MAX_SIDE = 512;

/** Checks road-web.json; one clear error naming the file and the field. */
export function checkMeta(meta: unknown, file: string): WebMeta {
  const m = meta as Partial<WebMeta> | null;
  const bad = (what: string) => new Error(`${file}: ${what}`);
  if (m == null || typeof m !== 'object') throw bad('not a JSON object');
  if (m.format !== 'road-web/1') throw bad(`format is ${JSON.stringify(m.format)}, expected "road-web/1"`);
  const n = m.net?.numClasses;
  if (!Number.isInteger(n) || (n as number) < 1) throw bad('net.numClasses is missing');
  if (!Array.isArray(m.classes) || m.classes.length !== n) throw bad(`classes must list ${n} names`);
  if (!Array.isArray(m.palette) || m.palette.length !== n || m.palette.some((c) => !Array.isArray(c) || c.length !== 3))
    throw bad(`palette must hold ${n} RGB colours`);
  if (!['imagenet', 'caffe', 'tf'].includes(m.normalization?.mode as string))
    throw bad(`normalization.mode ${JSON.stringify(m.normalization?.mode)} is not imagenet, caffe or tf`);
  const present = Array.isArray(m.presentClasses) ? m.presentClasses : Array.from({ length: n as number }, (_, i) => i);
  return { ...(m as WebMeta), presentClasses: present };
}

/** RGB bytes of an image file, scaled to at most {@link MAX_SIDE}, decoded without colour management. */
export async function decodeImage(
  file: Blob,
  name: string,
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`${name} is not an image this browser can decode (${(e as Error).message})`);
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(8, Math.round(bitmap.width * scale));
  const height = Math.max(8, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p];
    rgb[q + 1] = rgba[p + 1];
    rgb[q + 2] = rgba[p + 2];
  }
  return { rgb, width, height };
}

/** Class id per pixel: argmax of the net's logits at the input's size (the same code path as `road predict`). */
export async function predictClasses(
  net: SegmentationNet,
  meta: WebMeta,
  rgb: Uint8Array,
  width: number,
  height: number,
) {
  const x = tf.tensor4d(normalizeImage(rgb, meta.normalization.mode), [1, height, width, 3]);
  const ids = tf.tidy(() => tf.cast(tf.argMax(net.predict(x), 3), 'int32'));
  const out = new Uint8Array(await ids.data());
  tf.dispose([x, ids]);
  return out;
}

export function setupSegment(base: string, status: (line: string) => void): SegmentState {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const modelInput = $<HTMLInputElement>('segment-model');
  const imageInput = $<HTMLInputElement>('segment-image');
  const drop = $('segment-drop');
  const canvas = $<HTMLCanvasElement>('segment-canvas');
  const opacity = $<HTMLInputElement>('segment-opacity');
  const opacityValue = $<HTMLOutputElement>('segment-opacity-value');
  const legend = $('segment-legend');
  const state: SegmentState = { model: null, width: 0, height: 0, classes: [], error: null };
  let net: SegmentationNet | null = null;
  let meta: WebMeta | null = null;
  let image: { rgb: Uint8Array; width: number; height: number; name: string } | null = null;
  let counts: number[] = [];

  const fail = (e: unknown) => {
    state.error = e instanceof Error ? e.message : String(e);
    status(state.error);
  };

  const composite = () => {
    if (!image) return;
    const { rgb, width, height } = image;
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const out = ctx.createImageData(width, height);
    const a = Number(opacity.value) / 100;
    const have = meta != null && state.classes.length === width * height;
    for (let p = 0; p < width * height; p++) {
      const c = have && meta ? meta.palette[state.classes[p]] : null;
      for (let k = 0; k < 3; k++)
        out.data[4 * p + k] = c ? Math.round((1 - a) * rgb[3 * p + k] + a * c[k]) : rgb[3 * p + k];
      out.data[4 * p + 3] = 255;
    }
    ctx.putImageData(out, 0, 0);
  };

  const drawLegend = () => {
    legend.replaceChildren();
    if (!meta) return;
    const total = counts.reduce((s, c) => s + c, 0);
    for (const id of meta.presentClasses) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = `rgb(${meta.palette[id].join(',')})`;
      sw.setAttribute('aria-hidden', 'true');
      const share = total > 0 ? ` ${((100 * (counts[id] ?? 0)) / total).toFixed(1)}%` : '';
      li.append(sw, `${meta.classes[id]}${share}`);
      legend.append(li);
    }
  };

  const run = async () => {
    if (!image) return;
    if (!net || !meta) {
      composite();
      status(`Image ${image.name} (${image.width}×${image.height}) loaded; now load a model.`);
      return;
    }
    status(`Predicting ${image.name}…`);
    const t0 = performance.now();
    const classes = await predictClasses(net, meta, image.rgb, image.width, image.height);
    state.classes = Array.from(classes);
    state.width = image.width;
    state.height = image.height;
    counts = new Array(meta.classes.length).fill(0);
    for (const c of classes) counts[c]++;
    composite();
    drawLegend();
    state.error = null;
    status(
      `${image.name}: ${image.width}×${image.height} segmented by ${state.model} in ${(performance.now() - t0).toFixed(0)} ms.`,
    );
  };

  const useModel = async (load: () => Promise<{ net: SegmentationNet; meta: WebMeta; name: string }>) => {
    status('Loading the model…');
    try {
      const r = await load();
      net?.dispose();
      net = r.net;
      meta = r.meta;
      state.model = r.name;
      drawLegend();
      status(`Model ${r.name} loaded (${r.meta.net.name}, ${r.meta.net.numClasses} classes).`);
      await run();
    } catch (e) {
      fail(e);
    }
  };

  const useImage = async (file: Blob, name: string) => {
    try {
      image = { ...(await decodeImage(file, name)), name };
      state.classes = [];
      await run();
    } catch (e) {
      fail(e);
    }
  };

  $('segment-demo').addEventListener('click', () =>
    useModel(async () => {
      const dir = new URL('models/synthcity/', base);
      const r = await fetch(new URL('road-web.json', dir));
      if (!r.ok) throw new Error(`cannot load ${new URL('road-web.json', dir)}: HTTP ${r.status}`);
      const m = checkMeta(await r.json(), 'road-web.json');
      const n = await loadSegmentationNet(tf.io.http(new URL('model.json', dir).href));
      return { net: n, meta: m, name: 'the SynthCity demo model' };
    }),
  );
  modelInput.addEventListener('change', () => {
    const files = [...(modelInput.files ?? [])];
    void useModel(async () => {
      const json = files.find((f) => f.name === 'model.json');
      const metaFile = files.find((f) => f.name === 'road-web.json');
      const bins = files.filter((f) => f.name.endsWith('.bin'));
      if (!json || !metaFile || bins.length === 0)
        throw new Error('choose model.json, road-web.json and the .bin shard(s) of one export together');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await metaFile.text());
      } catch (e) {
        throw new Error(`road-web.json is not valid JSON: ${(e as Error).message}`);
      }
      const m = checkMeta(parsed, 'road-web.json');
      const n = await loadSegmentationNet(tf.io.browserFiles([json, ...bins]));
      if (n.numClasses !== m.net.numClasses) {
        n.dispose();
        throw new Error(`model.json has ${n.numClasses} classes, road-web.json ${m.net.numClasses}`);
      }
      return { net: n, meta: m, name: 'your model' };
    });
  });
  imageInput.addEventListener('change', () => {
    const f = imageInput.files?.[0];
    if (f) void useImage(f, f.name);
  });
  $('segment-sample').addEventListener('click', async () => {
    const url = new URL('samples/synthcity-target.png', base);
    const r = await fetch(url);
    if (!r.ok) return fail(new Error(`cannot load ${url}: HTTP ${r.status}`));
    await useImage(await r.blob(), 'sample SynthCity image');
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void useImage(f, f.name);
  });
  drop.addEventListener('click', () => imageInput.click());
  opacity.addEventListener('input', () => {
    opacityValue.textContent = `${opacity.value}%`;
    composite();
  });
  return state;
}
