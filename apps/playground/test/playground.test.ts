// The built playground in headless Chromium (Debian's chromium through playwright-core): loads without console errors,
// the Segment tab predicts what Node predicts with the same model, the Adapt tab trains and its loss falls, keyboard
// and phone-width basics. Screenshots go to apps/playground/test-output/. Needs `pnpm build` first (dist/).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSegmentationNet } from '@road/backbone';
import { initBackend } from '@road/backend';
import { normalizeImage, renderSynthCity } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/browser/chromium.js';
// biome-ignore lint/correctness/useImportExtensions: a plain .mjs script file keeps its own extension
import { DIST, startServer } from '../scripts/serve.mjs';

const OUT = join(import.meta.dirname, '..', 'test-output');
let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startServer(DIST, 0);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the page; collects console errors and uncaught exceptions into `errors`. */
async function open(query: string, errors: string[], width = 1100): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.goto(`${server.url}${query}`);
  await page.waitForFunction(() => window.playground?.ready === true || window.playground?.error != null, null, {
    timeout: 60_000,
  });
  return page;
}

/** The demo model as Node reads it (model.json + shards from dist/models/synthcity). */
function demoArtifacts(): tf.io.ModelArtifacts {
  const dir = join(DIST, 'models', 'synthcity');
  const modelJSON = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const group = modelJSON.weightsManifest[0];
  const buffers = group.paths.map((p) => new Uint8Array(readFileSync(join(dir, p))));
  const weightData = new Uint8Array(buffers.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of buffers) {
    weightData.set(b, o);
    o += b.length;
  }
  return {
    modelTopology: modelJSON.modelTopology,
    format: modelJSON.format,
    weightSpecs: group.weights,
    weightData: weightData.buffer,
    userDefinedMetadata: modelJSON.userDefinedMetadata,
  };
}

describe('playground in Chromium', () => {
  it('loads with no console errors and names the backend it chose (and why it skipped the others)', async () => {
    const errors: string[] = [];
    const page = await open('', errors);
    expect(await page.evaluate(() => window.playground.error)).toBeNull();
    const line = await page.textContent('#backend');
    expect(line).toMatch(/^backend: (webgpu|webgl|wasm|cpu)/);
    // Headless Chromium here has no WebGPU adapter: the skip reason is shown.
    if (!line?.startsWith('backend: webgpu')) expect(line).toMatch(/skipped webgpu \(/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Segment tab: the demo model on a fixed image predicts what Node predicts (wasm, ≥ 99.9% of pixels)', async () => {
    const errors: string[] = [];
    const page = await open('?backend=wasm', errors);
    expect(await page.textContent('#backend')).toMatch(/^backend: wasm/);
    await page.click('#tab-segment');
    await page.click('#segment-demo');
    await page.waitForFunction(() => /loaded/.test(document.getElementById('segment-status')?.textContent ?? ''));
    await page.setInputFiles('#segment-image', join(DIST, 'samples', 'synthcity-target.png'));
    await page.waitForFunction(() => (window.playground.segment?.classes.length ?? 0) > 0, null, { timeout: 60_000 });
    const got = await page.evaluate(() => window.playground.segment);
    await page.screenshot({ path: join(OUT, 'segment-tab.png'), fullPage: true });
    expect(errors).toEqual([]);

    // Node: the same export, the same image (the PNG's pixels), the same code path (net.predict → argmax), on wasm.
    const sample = renderSynthCity('target-test', 0, 0, 256, 128);
    expect([got?.width, got?.height]).toEqual([sample.width, sample.height]);
    await initBackend({ prefer: 'wasm', native: false });
    const meta = JSON.parse(readFileSync(join(DIST, 'models', 'synthcity', 'road-web.json'), 'utf8'));
    const net = await loadSegmentationNet(tf.io.fromMemory(demoArtifacts()));
    const x = tf.tensor4d(normalizeImage(sample.image, meta.normalization.mode), [1, sample.height, sample.width, 3]);
    const ids = tf.tidy(() => tf.argMax(net.predict(x), 3));
    const want = await ids.data();
    tf.dispose([x, ids]);
    net.dispose();
    let same = 0;
    for (let i = 0; i < want.length; i++) if (want[i] === got?.classes[i]) same++;
    const agreement = same / want.length;
    expect(agreement).toBeGreaterThanOrEqual(0.999);
    // and the prediction is not trivial: the demo model finds several classes in a street scene
    expect(new Set(got?.classes).size).toBeGreaterThanOrEqual(3);
    await page.close();
  });

  it("Segment tab: the user's own export (chosen as files) and a dropped image; bad files get one status line each", async () => {
    const errors: string[] = [];
    const page = await open('?backend=wasm', errors);
    await page.click('#tab-segment');
    const status = () => page.textContent('#segment-status');
    const model = join(DIST, 'models', 'synthcity');
    const file = (name: string) => join(model, name);
    // Bad inputs first: a missing shard, then a road-web.json that is not JSON.
    await page.setInputFiles('#segment-model', [file('model.json'), file('road-web.json')]);
    await page.waitForFunction(() =>
      /choose model\.json/.test(document.getElementById('segment-status')?.textContent ?? ''),
    );
    const broken = mkdtempSync(join(tmpdir(), 'road-broken-export-'));
    writeFileSync(join(broken, 'road-web.json'), '{not json');
    await page.setInputFiles('#segment-model', [
      file('model.json'),
      file('group1-shard1of1.bin'),
      join(broken, 'road-web.json'),
    ]);
    await page.waitForFunction(() =>
      /road-web\.json is not valid JSON/.test(document.getElementById('segment-status')?.textContent ?? ''),
    );
    // The real export, chosen as files (as a user picks them from `road export --web`'s folder).
    await page.setInputFiles('#segment-model', ['model.json', 'group1-shard1of1.bin', 'road-web.json'].map(file));
    await page.waitForFunction(() =>
      /Model your model loaded/.test(document.getElementById('segment-status')?.textContent ?? ''),
    );
    // A dropped file that is not an image, then a dropped PNG.
    const dropFile = async (name: string, bytes: Buffer, type: string) => {
      const dt = await page.evaluateHandle(
        ([n, b64, t]) => {
          const d = new DataTransfer();
          d.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], n, { type: t }));
          return d;
        },
        [name, bytes.toString('base64'), type] as const,
      );
      await page.dispatchEvent('#segment-drop', 'drop', { dataTransfer: dt });
    };
    await dropFile('notes.png', Buffer.from('not a picture'), 'image/png');
    await page.waitForFunction(() =>
      /notes\.png is not an image/.test(document.getElementById('segment-status')?.textContent ?? ''),
    );
    await dropFile('street.png', readFileSync(join(DIST, 'samples', 'synthcity-target.png')), 'image/png');
    await page.waitForFunction(
      () =>
        /street\.png: .* segmented by your model/.test(document.getElementById('segment-status')?.textContent ?? ''),
      null,
      {
        timeout: 60_000,
      },
    );
    const mine = await page.evaluate(() => window.playground.segment?.classes ?? []);
    // The bundled demo is the same export: loading it instead must predict the same classes on the same image.
    await page.click('#segment-demo');
    await page.waitForFunction(
      () => /segmented by the SynthCity demo model/.test(document.getElementById('segment-status')?.textContent ?? ''),
      null,
      {
        timeout: 60_000,
      },
    );
    const demo = await page.evaluate(() => window.playground.segment?.classes ?? []);
    expect(mine.length).toBe(256 * 128);
    expect(mine).toEqual(demo);
    expect(await status()).toMatch(/street\.png: 256×128/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Adapt tab: 50 steps of source-only and DANN in the page; both label losses fall', async () => {
    const errors: string[] = [];
    const page = await open('?backend=wasm', errors);
    await page.click('#adapt-start');
    await page.waitForFunction(() => (window.playground.adapt?.step ?? 0) >= 50, null, { timeout: 240_000 });
    await page.click('#adapt-stop');
    await page.waitForFunction(() => window.playground.adapt?.running === false);
    const s = await page.evaluate(() => window.playground.adapt);
    await page.screenshot({ path: join(OUT, 'adapt-tab.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(s?.error).toBeNull();
    const mean = (xs: [number, number][]) => xs.reduce((a, p) => a + p[1], 0) / xs.length;
    for (const method of ['source-only', 'dann'] as const) {
      const loss = s?.loss[method] ?? [];
      expect(loss.length).toBeGreaterThanOrEqual(50);
      expect(mean(loss.slice(-10)), method).toBeLessThan(0.8 * mean(loss.slice(0, 10)));
    }
    // two evaluations on the MNIST-M test digits (steps 25 and 50), and a domain-classifier accuracy per step
    expect(s?.accuracy.dann.length).toBeGreaterThanOrEqual(2);
    expect(s?.domainAccuracy.length).toBeGreaterThanOrEqual(50);
    expect(await page.locator('#adapt-grid .tile').count()).toBe(24);
    await page.close();
  });

  it('keyboard, labels and a phone-width screen', async () => {
    const errors: string[] = [];
    const page = await open('?backend=cpu', errors, 375);
    // every form control has a label; tabs follow the WAI-ARIA pattern
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button')]
        .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !(el.textContent ?? '').trim())
        .map((el) => el.id),
    );
    expect(unlabelled).toEqual([]);
    await page.focus('#tab-adapt');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-segment');
    expect(await page.getAttribute('#tab-segment', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#panel-segment')).toBe(true);
    expect(await page.isVisible('#panel-adapt')).toBe(false);
    // Tab moves from the selected tab to the first control of its panel, then on in reading order
    const order: string[] = [];
    for (let k = 0; k < 5; k++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    expect(order).toEqual(['segment-model', 'segment-demo', 'segment-image', 'segment-sample', 'segment-drop']);
    // no horizontal scrolling at 375 px, on either tab
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(OUT, 'phone-segment-tab.png'), fullPage: true });
    await page.click('#tab-adapt');
    expect(await page.isVisible('#panel-adapt')).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(OUT, 'phone-adapt-tab.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
