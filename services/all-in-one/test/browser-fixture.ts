import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (which never downloads a browser). */
export const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const required = process.env.EVENTPIPE_REQUIRE_BROWSER === '1';
const available = existsSync(executablePath);

/** `describe` when a browser is there (or required: then the suite fails without one). */
export function describeWithBrowser(what: string, name: string, fn: () => void): void {
  if (!available && !required) {
    process.stderr.write(`no Chromium at ${executablePath}: the ${what} browser test is skipped\n`);
    describe.skip(name, fn);
    return;
  }
  describe(name, fn);
}

/** Headless Chromium with a new empty profile; the flags keep it from reaching for Google's
 * hosts on a closed network. */
export function launchChromium(): Promise<Browser> {
  if (!available) throw new Error(`EVENTPIPE_REQUIRE_BROWSER=1 but no ${executablePath}`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
