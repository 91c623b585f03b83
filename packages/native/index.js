// Loader of the native kernels: never throws; { addon: null, reason } when they cannot be used.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const addonPath = join(__dirname, 'build', 'road_native.node');
const statusPath = join(__dirname, 'build', 'status.json');

/** build/status.json as written by scripts/build.mjs, or null when the build never ran. */
function buildStatus() {
  try {
    return JSON.parse(readFileSync(statusPath, 'utf8'));
  } catch {
    return null;
  }
}

let cached = null;

/**
 * Loads build/road_native.node. Returns { addon, reason }: addon is null when ROAD_NATIVE=0, when the
 * addon was not built (reason from build/status.json) or when it fails to load.
 * options.path loads another file (tests); options.fresh skips the cache.
 */
function loadNative(options) {
  const opts = options || {};
  if (process.env.ROAD_NATIVE === '0') return { addon: null, reason: 'disabled by ROAD_NATIVE=0' };
  const file = opts.path || addonPath;
  if (file === addonPath && cached != null && !opts.fresh) return cached;
  let result;
  if (!existsSync(file)) {
    const status = file === addonPath ? buildStatus() : null;
    const why = status == null ? 'the build never ran (node scripts/build.mjs)' : status.reason;
    result = { addon: null, reason: `${file} is missing: ${why}` };
  } else {
    try {
      result = { addon: require(file), reason: 'loaded' };
    } catch (e) {
      result = { addon: null, reason: `loading ${file} failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  if (file === addonPath) cached = result;
  return result;
}

module.exports = { loadNative, buildStatus, addonPath };
