// Finds a real Chromium for the browser suite: the system's when there is one, else the one shipped
// inside the @sparticuz/chromium npm package (unpacked to the temp directory on first use), so the
// suite runs on a fresh machine with nothing installed by hand.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where a system Chromium (or Chrome) is commonly installed; `CHROMIUM_PATH` comes first. */
const SYSTEM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export interface FoundChromium {
  readonly executablePath: string;
  /** `system` or `@sparticuz/chromium`. */
  readonly source: string;
}

export async function findChromium(): Promise<FoundChromium> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured} does not exist`);
    return { executablePath: configured, source: 'CHROMIUM_PATH' };
  }
  const system = SYSTEM_CANDIDATES.find((path) => existsSync(path));
  if (system !== undefined) return { executablePath: system, source: 'system' };
  // The package unpacks its brotli-compressed binary on first use (a few seconds, once per machine).
  const { default: packaged } = await import('@sparticuz/chromium');
  return { executablePath: await packaged.executablePath(), source: '@sparticuz/chromium' };
}

// The flags a headless Chromium needs on a closed network, run as root in a container: no sandbox,
// no GPU, and none of its background calls home (refused here, many at a time, if left on).
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<{ browser: Browser; found: FoundChromium }> {
  const found = await findChromium();
  const browser = await chromium.launch({ executablePath: found.executablePath, headless: true, args: ARGS });
  return { browser, found };
}
