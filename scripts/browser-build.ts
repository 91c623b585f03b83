/**
 * The browser build of a library package (the `default` export condition; Node gets the full build under `node`).
 * Same sources and the same public names as the Node build, with two changes made at bundle time:
 * - `replace`: a source module with a browser counterpart (`src/loaders.ts` → `src/loaders.browser.ts`) is swapped
 *   for it;
 * - Node built-ins (`fs`, `worker_threads`, ...) and Node-only packages (`sharp`) become a stub whose every function
 *   throws one clear error naming the function, the module and the package, so Node-only functions (reading files,
 *   worker threads) fail with that message when called in a browser, and the rest of the package works.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import type { Options } from 'tsup';

/** Node built-ins: bare and `node:` names (a subpath such as `fs/promises` included). */
const BUILTIN =
  /^(node:)?(fs|fs\/promises|path|os|module|url|util|zlib|worker_threads|child_process|crypto|stream|events|buffer)$/;

/** Reserved words that cannot be export names of the generated stub. */
const RESERVED = new Set(['default', 'delete', 'new', 'class', 'function', 'var', 'let', 'const', 'import', 'export']);

/**
 * An ES module standing in for a Node built-in (every name the real module exports) or a Node-only package (its
 * default export): each export is callable and constructible, and any call throws one clear error naming it; property
 * reads give nested stubs (`fs.promises.readFile`), so importing the module never throws, only using it does.
 */
async function stubSource(moduleName: string, packageName: string): Promise<string> {
  const builtin = BUILTIN.test(moduleName);
  let names: string[] = [];
  if (builtin) {
    const real = (await import(moduleName.startsWith('node:') ? moduleName : `node:${moduleName}`)) as object;
    names = Object.keys(real).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !RESERVED.has(n));
  }
  const lines = [
    'const stub = (what) => {',
    `  const fail = () => new Error(${JSON.stringify(`${packageName}: `)} + what + ${JSON.stringify(
      ` needs Node ('${moduleName}' is not available in a browser): this function runs in Node only`,
    )});`,
    '  return new Proxy(function () {}, {',
    '    apply() { throw fail(); },',
    '    construct() { throw fail(); },',
    "    get(_t, prop) { return typeof prop === 'string' && prop !== 'then' && prop !== 'prototype' ? stub(what + '.' + prop) : undefined; },",
    '  });',
    '};',
    `export default stub(${JSON.stringify(builtin ? moduleName : `${moduleName} (default export)`)});`,
    ...names.map((n) => `export const ${n} = stub(${JSON.stringify(n)});`),
  ];
  return lines.join('\n');
}

/** esbuild plugin: swaps `replace`d modules for their `.browser.ts` counterparts and stubs Node built-ins. */
export function browserPlugin(packageName: string, options: { replace?: string[]; nodeOnly?: string[] } = {}): Plugin {
  const replace = new Set((options.replace ?? []).map((p) => resolve(p)));
  const nodeOnly = new Set(options.nodeOnly ?? []);
  return {
    name: 'road-browser',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (BUILTIN.test(args.path) || nodeOnly.has(args.path)) {
          return { path: args.path, namespace: 'road-node-stub' };
        }
        if (args.path.startsWith('.') && args.resolveDir) {
          const base = resolve(args.resolveDir, args.path).replace(/\.(js|ts)$/, '');
          const swapped = `${base}.browser.ts`;
          // The browser file itself may import the Node module it wraps (for the parts they share).
          if (replace.has(base) && args.importer !== swapped) {
            if (!existsSync(swapped)) throw new Error(`browser build: ${swapped} is missing`);
            return { path: swapped };
          }
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'road-node-stub' }, async (args) => ({
        contents: await stubSource(args.path, packageName),
        loader: 'js',
        resolveDir: dirname(join(process.cwd(), 'package.json')),
      }));
    },
  };
}

/** The tsup options of the browser build: `dist/browser.js` + `dist/browser.cjs` from `src/index.ts`. */
export function browserBuild(
  packageName: string,
  options: { replace?: string[]; nodeOnly?: string[]; external?: string[] } = {},
): Options {
  return {
    entry: { browser: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: false,
    sourcemap: true,
    clean: false,
    platform: 'browser',
    target: 'es2022',
    removeNodeProtocol: false,
    noExternal: options.nodeOnly,
    external: options.external,
    esbuildPlugins: [browserPlugin(packageName, options)],
  };
}
