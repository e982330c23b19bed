/** Headless Chromium for page tests: Debian's `chromium` (installed by .ci/run), driven by playwright-core. Never a browser download. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

/** The Chromium executable: $CHROMIUM_PATH, else Debian's. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? CANDIDATES.find((p) => existsSync(p));
  if (!path || !existsSync(path)) {
    throw new Error(`no Chromium found (tried ${process.env.CHROMIUM_PATH ?? CANDIDATES.join(', ')}): install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  return path;
}

/** Launches headless Chromium (no sandbox: CI runs as root, where Chromium's sandbox refuses to start). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
