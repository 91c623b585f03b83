/**
 * Headless Chromium for the browser tests: the system's Chromium (Debian's `chromium` package), driven by
 * playwright-core. No browser is downloaded; `ROAD_CHROMIUM` names another executable.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium executable to drive, or undefined when none is installed. */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.ROAD_CHROMIUM;
  if (fromEnv) return fromEnv;
  return CANDIDATES.find((path) => existsSync(path));
}

/** Launches headless Chromium; throws one clear error when no executable is found. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new Error(
      `no Chromium found (looked for ${CANDIDATES.join(', ')}); install Debian's "chromium" package or set ROAD_CHROMIUM`,
    );
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader'],
  });
}
