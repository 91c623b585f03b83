// Every library package bundles for a browser (esbuild, platform=browser: the `default` export condition, never
// `node`) with no Node built-in and no Node-only package anywhere in its module graph, and its browser build has the
// same public names as its Node build. Run after `pnpm build` (it bundles dist/).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';

const root = join(import.meta.dirname, '..', '..');
/** @road/native is the Node addon itself (a C++ module): it has no browser build by design. */
const NODE_ONLY_PACKAGES = new Set(['@road/native']);
const NODE_ONLY_DEPENDENCIES = ['sharp', 'webgpu', 'worker_threads', '@road/native', '@tensorflow/tfjs-node'];

const libraries = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private && !NODE_ONLY_PACKAGES.has(pkg.name));

/** The app that depends on every library package: bare `@road/*` names resolve from there. */
const resolveDir = join(root, 'apps', 'trainer');

/** Records every import of a Node built-in or Node-only package, with the file that imports it. */
function nodeImportSpy(found: string[]): Plugin {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  return {
    name: 'node-import-spy',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (builtins.has(args.path) || NODE_ONLY_DEPENDENCIES.includes(args.path)) {
          found.push(`${args.path} (imported by ${args.importer.replace(`${root}/`, '')})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/** The public names of the browser build (what a bundler resolves `name` to in a page). */
async function browserExportNames(name: string): Promise<string[]> {
  const r = await build({
    stdin: { contents: `export * from '${name}';`, resolveDir, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['@tensorflow/*'],
    plugins: [nodeImportSpy([])],
  });
  return Object.values(r.metafile.outputs)[0].exports.sort();
}

/** The public names of the Node build: the ESM file of the package's `node` condition (or its only one). */
async function nodeExportNames(dir: string, pkg: { exports: Record<string, unknown> }): Promise<string[]> {
  const dot = pkg.exports['.'] as Record<string, Record<string, Record<string, string>>>;
  const file = (dot.node ?? dot).import.default;
  const mod = await import(join(root, 'packages', dir, file));
  return Object.keys(mod).sort();
}

/** Every library package imported in a real page (tfjs bundled too): no import-time use of a Node stand-in. */
describe('library packages imported in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('each package imports, and a Node-only function fails with one clear error', async () => {
    const names = libraries.map((l) => l.pkg.name as string);
    const imports = names.map((n, i) => `import * as m${i} from '${n}';`).join('\n');
    const r = await build({
      stdin: {
        contents: `${imports}
const exportsOf = { ${names.map((n, i) => `'${n}': Object.keys(m${i}).length`).join(', ')} };
let nodeOnly = 'did not throw';
try { await m${names.indexOf('@road/datasets')}.readRgb('photo.png'); } catch (e) { nodeOnly = e.message; }
window.result = { exportsOf, nodeOnly };`,
        resolveDir,
        loader: 'js',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.setContent('<!doctype html><title>import check</title>');
    await page.addScriptTag({ content: r.outputFiles[0].text, type: 'module' });
    await page.waitForFunction(() => (window as unknown as { result?: unknown }).result != null, null, {
      timeout: 60_000,
    });
    const result = (await page.evaluate(() => (window as unknown as { result: unknown }).result)) as {
      exportsOf: Record<string, number>;
      nodeOnly: string;
    };
    await page.close();
    expect(errors).toEqual([]);
    for (const n of names) expect(result.exportsOf[n], n).toBeGreaterThan(0);
    // the file's name and what is missing, e.g. "photo.png: cannot read file (@road/datasets: readFile needs Node
    // ('node:fs/promises' is not available in a browser) ...)"
    expect(result.nodeOnly).toMatch(
      /^photo\.png: cannot read file \(@road\/datasets: readFile needs Node \('node:fs\/promises' is not available in a browser\)/,
    );
  });
});

describe('library packages in a browser bundle', () => {
  it('finds the library packages', () => {
    expect(libraries.map((l) => l.pkg.name)).toEqual(
      expect.arrayContaining(['@road/backend', '@road/backbone', '@road/datasets', '@road/dann']),
    );
  });

  for (const { dir, pkg } of libraries) {
    it(`${pkg.name} bundles with no Node built-in`, async () => {
      const found: string[] = [];
      await build({
        stdin: { contents: `export * from '${pkg.name}';`, resolveDir, loader: 'js' },
        bundle: true,
        platform: 'browser',
        format: 'esm',
        write: false,
        logLevel: 'silent',
        // tfjs's own packages are the peer dependencies the page brings (browser packages by design).
        external: ['@tensorflow/*'],
        plugins: [nodeImportSpy(found)],
      });
      expect(found, `${pkg.name} pulls Node-only modules into a browser bundle`).toEqual([]);
    });

    it(`${pkg.name}'s browser build exports the names of its Node build`, async () => {
      const browser = await browserExportNames(pkg.name);
      const node = await nodeExportNames(dir, pkg);
      expect(browser).toEqual(node);
    });
  }
});
