// Every library package bundles for a browser (esbuild, platform=browser: the `default` export condition, never
// `node`) with no Node built-in and no Node-only package anywhere in its module graph, and its browser build has the
// same public names as its Node build. Run after `pnpm build` (it bundles dist/).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
/** @road/native is the Node addon itself (a C++ module): it has no browser build by design. */
const NODE_ONLY_PACKAGES = new Set(['@road/native']);
const NODE_ONLY_DEPENDENCIES = ['sharp', 'webgpu', 'worker_threads', '@road/native', '@tensorflow/tfjs-node'];

const libraries = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private && !NODE_ONLY_PACKAGES.has(pkg.name));

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

/** The app that depends on every library package: bare `@road/*` names resolve from there. */
const resolveDir = join(root, 'apps', 'trainer');

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
