// Loader of the native kernels: never throws; { addon: null, reason } when they cannot be used.
// Looks for build/road_native.node (compiled from source on this machine), then for the binary shipped in the
// package, prebuilds/<platform>-<arch>/road_native.node. Own loader rather than node-gyp-build: the addon is not
// built with node-gyp, and these two paths are all there is to search.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const addonPath = join(__dirname, 'build', 'road_native.node');
const statusPath = join(__dirname, 'build', 'status.json');
const platform = `${process.platform}-${process.arch}`;
const prebuiltPath = join(__dirname, 'prebuilds', platform, 'road_native.node');

/** build/status.json as written by scripts/build.mjs, or null when the build never ran. */
function buildStatus() {
  try {
    return JSON.parse(readFileSync(statusPath, 'utf8'));
  } catch {
    return null;
  }
}

function loadFile(file) {
  try {
    return { addon: require(file), reason: 'loaded', path: file };
  } catch (e) {
    return { addon: null, reason: `loading ${file} failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

let cached = null;

/**
 * Loads the addon. Returns { addon, reason, path }: addon is null (with the reason) when ROAD_NATIVE=0, or when
 * neither build/road_native.node nor prebuilds/<platform>-<arch>/road_native.node exists and loads; path is the
 * file loaded. options.path loads that file only (tests); options.fresh skips the cache.
 */
function loadNative(options) {
  const opts = options || {};
  if (process.env.ROAD_NATIVE === '0') return { addon: null, reason: 'disabled by ROAD_NATIVE=0' };
  if (opts.path != null && opts.path !== addonPath) {
    return existsSync(opts.path) ? loadFile(opts.path) : { addon: null, reason: `${opts.path} is missing` };
  }
  if (cached != null && !opts.fresh) return cached;
  const why = [];
  let result = null;
  if (existsSync(addonPath)) {
    result = loadFile(addonPath);
    if (result.addon == null) why.push(result.reason);
  } else {
    const status = buildStatus();
    why.push(
      `${addonPath} is missing: ${status == null ? 'the build never ran (node scripts/build.mjs)' : status.reason}`,
    );
  }
  if (result == null || result.addon == null) {
    if (existsSync(prebuiltPath)) {
      result = loadFile(prebuiltPath);
      if (result.addon == null) why.push(result.reason);
    } else {
      why.push(`no prebuilt binary for ${platform} (${prebuiltPath})`);
    }
  }
  if (result == null || result.addon == null) result = { addon: null, reason: why.join('; ') };
  cached = result;
  return result;
}

module.exports = { loadNative, buildStatus, addonPath, prebuiltPath };
