import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MemoryBus } from '@eventpipe/bus/adapters';
import type { RunningServer } from '@eventpipe/platform';
import { waitFor } from '@eventpipe/testing';
import { describeWithBrowser, launchChromium } from './browser-fixture';
import { serveStack, type ServedStack } from './stack-fixture';

// The /explorer page in a real headless Chromium (Debian's, driven by playwright-core): it lists
// the stored events, filters them by type (in the URL), opens one from the keyboard, draws the
// counts per type, tails new events live, and runs under its strict CSP without a console error.

// The screenshot goes to artifacts/ (ignored by git) on every run; docs/explorer.png is the copy
// the README shows (EVENTPIPE_UPDATE_SCREENSHOTS=1 renews it).
const ARTIFACTS = join(__dirname, 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'explorer.png');
const DOCS_COPY = join(__dirname, '..', '..', '..', 'docs', 'explorer.png');

const ORDER = 'com.example.order.created';
const SIGNUP = 'com.example.user.signup';
const PAYMENT = 'com.example.payment.failed';

/** Events over the last 20 hours, of three types, the newest first in time: a chart with shape. */
function sampleEvents(now: number) {
  const types = [ORDER, ORDER, SIGNUP, ORDER, PAYMENT, SIGNUP];
  return Array.from({ length: 30 }, (_, i) => {
    const type = types[i % types.length]!;
    return {
      specversion: '1.0',
      id: `evt-${String(i).padStart(3, '0')}`,
      source: type === SIGNUP ? '/accounts' : '/shop/checkout',
      type,
      subject: type === SIGNUP ? `user/${100 + i}` : `order/${5000 + i}`,
      time: new Date(now - ((i * 41) % 1200) * 60_000 - 60_000).toISOString(),
      datacontenttype: 'application/json',
      data: type === SIGNUP ? { plan: i % 2 ? 'pro' : 'free' } : { total: 10 + i, currency: 'EUR' },
    };
  });
}

describeWithBrowser('/explorer', 'the /explorer page in headless Chromium', () => {
  let browser: Browser;
  let served: ServedStack;
  let publisher: RunningServer;
  let query: RunningServer;
  /** The query app with the explorer routes in front (until app.ts mounts them itself). */
  let site: RunningServer;

  const publish = async (events: unknown[]) => {
    const res = await fetch(`${publisher.url}/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { ids: string[] }).ids;
  };
  const stored = (ids: string[]) =>
    waitFor(
      async () => {
        for (const id of ids) if ((await served.store.get(id)).length === 0) return undefined;
        return true;
      },
      { what: 'the events stored' },
    );

  beforeAll(async () => {
    served = await serveStack(new MemoryBus());
    ({ publisher, query } = served);
    // The page as the query API serves it.
    site = query;

    await stored(await publish(sampleEvents(Date.now())));

    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Opens /explorer at 1280×800, recording requests, console errors and CSP violations. */
  async function open(path: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript({
      content: `window.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
        });`,
    });
    await page.goto(`${site.url}${path}`);
    return { page, requests, errors };
  }

  /** Waits until `expression` is truthy in the page. Polled from here: page.waitForFunction
   * polls with eval() in the page, which the page's CSP (rightly) refuses. */
  async function until(page: Page, expression: string, timeout = 10_000): Promise<void> {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (await page.evaluate(expression)) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${expression}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const rowCount = (page: Page) => page.locator('#rows tr[data-key]').count();
  const columnTexts = (page: Page, column: number) =>
    page.locator(`#rows tr[data-key] td:nth-child(${column})`).allTextContents();

  it('serves the page with its CSP, its files with their types, and 404 for others', async () => {
    const res = await fetch(`${site.url}/explorer`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    for (const [name, type] of [
      ['explorer.js', 'text/javascript'],
      ['explorer.css', 'text/css'],
      ['uPlot.iife.min.js', 'text/javascript'],
      ['uPlot.min.css', 'text/css'],
    ]) {
      const asset = await fetch(`${site.url}/explorer/${name}`);
      expect([name, asset.status, asset.headers.get('content-type')]).toEqual([
        name,
        200,
        expect.stringMatching(new RegExp(`^${type}`)),
      ]);
    }
    const missing = await fetch(`${site.url}/explorer/secrets.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await missing.json()) as { code: string }).code).toBe('not-found');
  });

  it('lists, filters, inspects from the keyboard, charts, and tails live', async () => {
    const { page, requests, errors } = await open('/explorer');

    // The newest page: all 30 sample events, and a chart with a series per type.
    await until(page, 'document.querySelectorAll("#rows tr[data-key]").length === 30', 15_000);
    await page.locator('#chart canvas').first().waitFor({ timeout: 15_000 });
    const legend = await page
      .locator('#chart .u-legend .u-series:not(:first-child) .u-label')
      .allTextContents();
    expect(legend).toEqual(expect.arrayContaining([ORDER, SIGNUP, PAYMENT]));
    const canvas = await page.locator('#chart canvas').first().boundingBox();
    expect(canvas?.width).toBeGreaterThan(300);
    expect(canvas?.height).toBeGreaterThan(100);

    // Filter by type: only those rows, and the filter in the URL.
    await page.getByLabel('Type', { exact: true }).fill(ORDER);
    await page.getByRole('button', { name: 'Apply' }).click();
    await until(
      page,
      `Array.from(document.querySelectorAll("#rows tr[data-key] td:nth-child(2)"))
        .every((td) => td.textContent === ${JSON.stringify(ORDER)}) &&
       document.querySelectorAll("#rows tr[data-key]").length === 15`,
      10_000,
    );
    expect(new URL(page.url()).searchParams.get('type')).toBe(ORDER);
    expect(new Set(await columnTexts(page, 2))).toEqual(new Set([ORDER]));
    await until(
      page,
      `Array.from(document.querySelectorAll("#chart .u-legend .u-series:not(:first-child) .u-label"))
        .map((l) => l.textContent).join() === ${JSON.stringify(ORDER)}`,
      10_000,
    );

    // A reload keeps the view.
    await page.reload();
    await until(page, 'document.querySelectorAll("#rows tr[data-key]").length === 15', 10_000);
    await expect(page.getByLabel('Type', { exact: true }).inputValue()).resolves.toBe(ORDER);

    // The keyboard: focus a row, Enter opens the inspector, Escape closes it and returns focus.
    const first = page.locator('#rows tr[data-key]').first();
    const firstId = (await first.locator('td:nth-child(5)').textContent()) ?? '';
    await first.focus();
    await page.keyboard.press('Enter');
    const inspector = page.locator('#inspector');
    await inspector.waitFor({ state: 'visible' });
    const data = JSON.parse((await page.locator('#event-data').textContent()) ?? '') as unknown;
    expect(data).toEqual({ total: expect.any(Number), currency: 'EUR' });
    await expect(page.locator('#attributes').textContent()).resolves.toContain(firstId);
    await expect(page.locator('#pipeline').textContent()).resolves.toContain('storedAt');
    const curl = (await page.locator('#curl').textContent()) ?? '';
    expect(curl).toContain(`/v1/events/${firstId}?source=%2Fshop%2Fcheckout`);
    expect(curl).not.toContain('Authorization'); // no key entered
    await page.keyboard.press('Escape');
    await inspector.waitFor({ state: 'hidden' });
    await expect(
      page.evaluate('document.activeElement === document.querySelector("#rows tr[data-key]")'),
    ).resolves.toBe(true);

    // Space on the next row opens it too.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press(' ');
    await inspector.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');

    {
      await page.getByRole('button', { name: 'Live' }).click();
      await expect(
        page.getByRole('button', { name: 'Live' }).getAttribute('aria-pressed'),
      ).resolves.toBe('true');
      await until(
        page,
        'document.getElementById("status").textContent.startsWith("Live: new events")',
        10_000,
      );
      const started = Date.now();
      const [liveId] = await publish([
        {
          specversion: '1.0',
          id: 'evt-live-1',
          source: '/shop/checkout',
          type: ORDER,
          subject: 'order/9999',
          data: { total: 99, currency: 'EUR', live: true },
        },
      ]);
      await until(
        page,
        `document.querySelector("#rows tr[data-key]")?.dataset.key === "/shop/checkout\\u0000${liveId}"`,
        3_000,
      );
      process.stderr.write(`explorer: the live event showed in ${Date.now() - started} ms\n`);
      expect(await rowCount(page)).toBe(16);

      // Off again.
      await page.getByRole('button', { name: 'Live' }).click();
      await expect(
        page.getByRole('button', { name: 'Live' }).getAttribute('aria-pressed'),
      ).resolves.toBe('false');
    }

    // The screenshot: every type, the inspector open, at 1280×800.
    await page.getByRole('button', { name: 'Clear' }).click();
    await until(page, 'document.querySelectorAll("#rows tr[data-key]").length >= 30', 10_000);
    await until(
      page,
      'document.querySelectorAll("#chart .u-legend .u-series:not(:first-child) .u-label").length === 3',
      10_000,
    );
    await page.locator('#rows tr[data-key]').nth(1).click();
    await inspector.waitFor({ state: 'visible' });
    await page.waitForTimeout(300); // the chart takes its new width on the next frame

    // Readable at 1280×800: nothing scrolls sideways.
    const widths = (await page.evaluate(
      '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
    )) as [number, number];
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
    // Every input has a label.
    const unlabelled = await page.evaluate(
      'Array.from(document.querySelectorAll("input")).filter((i) => !i.labels || i.labels.length === 0).map((i) => i.id)',
    );
    expect(unlabelled).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    // The README's copy is kept in git: written when missing, or renewed on request.
    if (!existsSync(DOCS_COPY) || process.env.EVENTPIPE_UPDATE_SCREENSHOTS === '1') {
      copyFileSync(SCREENSHOT, DOCS_COPY);
    }

    // Only this origin, no console error, no CSP violation.
    expect(requests.filter((u) => !u.startsWith(site.url))).toEqual([]);
    expect(await page.evaluate('window.__violations')).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
