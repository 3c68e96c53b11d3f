import type { Browser, Page } from 'playwright-core';
import { MemoryBus } from '@eventpipe/bus/adapters';
import type { RunningServer } from '@eventpipe/platform';
import { waitFor } from '@eventpipe/testing';
import { describeWithBrowser, launchChromium } from './browser-fixture';
import { serveStack, type ServedStack } from './stack-fixture';

// The /docs pages in a real headless Chromium (Debian's, driven by playwright-core): the
// operations render from /openapi.json, "Try it out" on GET /v1/events returns the stored
// event, and the page loads nothing from anywhere but the service itself.

describeWithBrowser('/docs', 'the /docs pages in headless Chromium', () => {
  let browser: Browser;
  let served: ServedStack;
  let publisher: RunningServer;
  let query: RunningServer;
  let eventId: string;

  beforeAll(async () => {
    served = await serveStack(new MemoryBus());
    ({ publisher, query } = served);
    const res = await fetch(`${publisher.url}/v1/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/cloudevents+json' },
      body: JSON.stringify({ type: 'com.example.docs', source: '/docs-test', data: { ok: 1 } }),
    });
    expect(res.status).toBe(202);
    eventId = ((await res.json()) as { ids: string[] }).ids[0]!;
    await waitFor(async () => ((await served.store.get(eventId)).length ? true : undefined), {
      what: 'the event stored',
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  /** Opens /docs and records every request the page makes and every console error. */
  async function open(base: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    // Swagger UI shows what it cannot read in the document as warnings or errors on the page.
    expect(
      await page.locator('.swagger-ui .errors-wrapper, .swagger-ui .version-pragma').count(),
    ).toBe(0);
    expect(await page.getByText('Warning', { exact: true }).count()).toBe(0);
    return { page, requests, errors };
  }

  it('the query API page lists its operations, and Try it out on GET /v1/events returns the stored event', async () => {
    const { page, requests, errors } = await open(query.url);
    await expect(page.locator('.info .title').textContent()).resolves.toContain(
      'eventpipe query API',
    );
    const paths = await page.locator('.opblock-summary-path').allTextContents();
    for (const p of ['/v1/events', '/v1/events/{id}', '/v1/stats', '/healthz']) {
      expect(paths.map((s) => s.replace(/\u200b/g, ''))).toContain(p);
    }

    const list = page.locator('#operations-events-listEvents');
    await list.locator('.opblock-summary').click();
    await list.getByRole('button', { name: 'Try it out' }).click();
    await list.locator('input[placeholder="source"]').fill('/docs-test');
    await list.getByRole('button', { name: 'Execute' }).click();
    const status = list.locator('.live-responses-table tr.response .response-col_status').first();
    await expect(status.textContent({ timeout: 15_000 })).resolves.toContain('200');
    const body = await list
      .locator('.live-responses-table tr.response pre.microlight')
      .first()
      .textContent();
    const parsed = JSON.parse(body ?? '') as { data: { id: string; source: string }[] };
    expect(parsed.data).toEqual([expect.objectContaining({ id: eventId, source: '/docs-test' })]);

    // Everything came from the service itself: no CDN, no validator badge, no fonts.
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((u) => !u.startsWith(query.url))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('the publisher API page shows POST /v1/events with its request body media types', async () => {
    const { page, requests, errors } = await open(publisher.url);
    const publish = page.locator('#operations-events-publishEvents');
    await publish.locator('.opblock-summary').click();
    const types = await publish.locator('.body-param-content-type select option').allTextContents();
    expect(types).toEqual(
      expect.arrayContaining([
        'application/cloudevents+json',
        'application/cloudevents-batch+json',
        'application/json',
      ]),
    );
    expect(requests.filter((u) => !u.startsWith(publisher.url))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
