import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The version in this package's package.json (`road --version`), or '0.0.0-unknown' when it cannot be read. */
export function roadVersion(): string {
  try {
    // dist/*.js and src/*.ts both sit one folder below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0-unknown';
  } catch {
    return '0.0.0-unknown';
  }
}

/** What `road doctor` says about the native kernels' build: @road/native's version and build/status.json. */
export interface NativeBuild {
  /** @road/native's version, null when the package cannot be resolved from @road/backend. */
  version: string | null;
  /** One line: built when, with what, for which Node and platform; or why not built. */
  build: string;
}

/** @road/native's version and build record, resolved the way @road/backend loads it (never throws). */
export function nativeBuild(): NativeBuild {
  let req: NodeJS.Require;
  try {
    req = createRequire(createRequire(import.meta.url).resolve('@road/backend'));
  } catch {
    req = createRequire(import.meta.url);
  }
  let version: string | null = null;
  try {
    version = (req('@road/native/package.json') as { version?: string }).version ?? null;
  } catch {
    return { version: null, build: '@road/native is not installed' };
  }
  try {
    const mod = req('@road/native') as { buildStatus?: () => Record<string, unknown> | null };
    const s = mod.buildStatus?.() ?? null;
    if (s == null)
      return {
        version,
        build: 'not compiled here (its prebuilt binary is used when it loads; node scripts/build.mjs compiles one)',
      };
    if (s.built !== true) return { version, build: `not built: ${String(s.reason ?? 'unknown reason')}` };
    const date = typeof s.date === 'string' ? s.date.slice(0, 10) : '?';
    return {
      version,
      build:
        `built ${date} with ${String(s.compiler ?? '?')} for Node ${String(s.node ?? '?')} ${String(s.platform ?? '')}`.trim(),
    };
  } catch (e) {
    return { version, build: `cannot read its build record: ${(e as Error).message}` };
  }
}
