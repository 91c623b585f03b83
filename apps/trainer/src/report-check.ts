import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../../../test/browser/chromium.js';

/** Where browser tests keep their screenshots (gitignored). */
export const TEST_OUTPUT = new URL('../test-output/', import.meta.url).pathname;

/** What a report page did in headless Chromium. */
export interface ReportCheck {
  /** Console errors, page errors and failed requests (a self-contained page makes no request but its own file). */
  errors: string[];
  title: string;
  chartIds: string[];
  /**
   * Per chart: what the legend shows after hovering the middle of the plot: the x (step) and the first series'
   * value ('--' when none).
   */
  hovered: Record<string, { x: string; value: string }>;
  /**
   * Per chart, keyboard only (the chart focused, no mouse): the readout after End, then ArrowLeft, then Home, and the
   * legend's x after End (the cursor follows the keys).
   */
  keyboard: Record<string, { end: string; left: string; home: string; legendX: string }>;
  /** Per chart: x range before and after a drag across the middle half of the plot, and after a double-click. */
  zoom: Record<string, { before: [number, number]; after: [number, number]; reset: [number, number] }>;
  /** Per chart with a smoothing slider: its first series' first 5 drawn values at smoothing 0, then at 0.9. */
  smoothing: Record<string, { raw: (number | null)[]; smoothed: (number | null)[] }>;
  /** Per chart with a log switch: the y scale's distribution (3 = log) after each click on it. */
  logToggle: Record<string, number[]>;
  /** Images whose pixels did not load. */
  brokenImages: string[];
  /** Every h1/h2 heading's text, in order. */
  headings: string[];
  /** Tables without a header cell. */
  tablesWithoutHeaders: number;
  /** Images without alt text. */
  imagesWithoutAlt: number;
  /** Drawn charts without role="img" and a text alternative (aria-label). */
  chartsWithoutLabel: number;
}

/**
 * Opens a report.html (file://, offline: every other request is refused) in headless Chromium at a laptop's width,
 * takes a full-page screenshot (`screenshotPath`), then hovers (a screenshot of the first chart hovered beside it,
 * `*-hover.png`), zooms and toggles the log scale of each chart.
 */
export async function checkReportInChromium(htmlPath: string, screenshotPath: string): Promise<ReportCheck> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    const own = pathToFileURL(htmlPath).href;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === own || url.startsWith('data:')) return route.continue();
      errors.push(`request outside the file: ${url}`);
      return route.abort();
    });
    await page.goto(own, { waitUntil: 'load' });
    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    // (expressions as strings: they run in the page, whose DOM types this Node project does not load)
    const chartIds = await page.evaluate<string[]>('Object.keys(window.roadCharts || {})');
    const hovered: ReportCheck['hovered'] = {};
    const zoom: ReportCheck['zoom'] = {};
    const logToggle: ReportCheck['logToggle'] = {};
    const smoothing: ReportCheck['smoothing'] = {};
    const keyboard: ReportCheck['keyboard'] = {};
    const xRange = (id: string) =>
      page.evaluate<[number, number]>(
        `[window.roadCharts[${JSON.stringify(id)}].scales.x.min, window.roadCharts[${JSON.stringify(id)}].scales.x.max]`,
      );
    for (const id of chartIds) {
      const over = page.locator(`#${id} .u-over`);
      const figure = page.locator(`figure:has(#${id})`);
      await figure.scrollIntoViewIfNeeded();
      const box = await over.boundingBox();
      if (!box) throw new Error(`chart ${id}: no plot area`);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const legend = (n: number) => page.locator(`#${id} .u-legend .u-series:nth-child(${n}) .u-value`).textContent();
      hovered[id] = { x: (await legend(1)) ?? '', value: (await legend(2)) ?? '' };
      const readout = async (key: string) => {
        await page.keyboard.press(key);
        return (await page.locator(`#${id}-readout`).textContent()) ?? '';
      };
      await page.locator(`#${id}`).focus();
      const end = await readout('End');
      const legendX = (await legend(1)) ?? '';
      keyboard[id] = { end, legendX, left: await readout('ArrowLeft'), home: await readout('Home') };
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      if (id === chartIds[0]) {
        // a clip in viewport coordinates: the page does not scroll, the cursor stays on the plot
        const f = await figure.boundingBox();
        if (f) await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-hover.png'), clip: f });
      }
      const before = await xRange(id);
      const b = box;
      await page.mouse.move(b.x + b.width * 0.25, b.y + b.height / 2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width * 0.75, b.y + b.height / 2, { steps: 5 });
      await page.mouse.up();
      const after = await xRange(id);
      await page.mouse.dblclick(b.x + b.width / 2, b.y + b.height / 2);
      zoom[id] = { before, after, reset: await xRange(id) };
      const slider = page.locator(`#${id}-tools input[data-role=smoothing]`);
      if (await slider.count()) {
        const firstValues = () =>
          page.evaluate<(number | null)[]>(`Array.from(window.roadCharts[${JSON.stringify(id)}].data[1].slice(0, 5))`);
        await slider.fill('0');
        const raw = await firstValues();
        await slider.fill('0.9');
        smoothing[id] = { raw, smoothed: await firstValues() };
      }
      const log = page.locator(`#${id}-tools input[data-role=log]`);
      if (await log.count()) {
        logToggle[id] = [];
        for (let k = 0; k < 2; k++) {
          await log.click();
          logToggle[id].push(await page.evaluate<number>(`window.roadCharts[${JSON.stringify(id)}].scales.y.distr`));
        }
      }
    }
    await page.mouse.move(0, 0);
    const dom = await page.evaluate<
      Pick<
        ReportCheck,
        'title' | 'brokenImages' | 'headings' | 'tablesWithoutHeaders' | 'imagesWithoutAlt' | 'chartsWithoutLabel'
      >
    >(`({
      title: document.title,
      brokenImages: [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.alt),
      headings: [...document.querySelectorAll('h1, h2')].map((h) => h.textContent || ''),
      tablesWithoutHeaders: [...document.querySelectorAll('table')].filter((t) => !t.querySelector('th')).length,
      imagesWithoutAlt: [...document.images].filter((i) => !i.alt).length,
      chartsWithoutLabel: [...document.querySelectorAll('.uplot')].filter(
        (u) => u.getAttribute('role') !== 'img' || !u.getAttribute('aria-label'),
      ).length,
    })`);
    return { errors, chartIds, hovered, keyboard, zoom, smoothing, logToggle, ...dom };
  } finally {
    await browser.close();
  }
}
