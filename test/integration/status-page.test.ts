/**
 * The status page in headless Chromium, after real runs on the local runtime: what it shows — each
 * run's status, the dataset's health, the quarantined file, the lag — equals the run records and
 * the status read back from DynamoDB, it updates without a reload when a new run ends, and its
 * report links serve the run's report. A screenshot is kept in artifacts/status-page.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunRecord } from '../../lambdas/core/ports';
import type { LocalRuntime } from '../../local/runtime';
import { localStatusSource } from '../../local/status-page/local-status';
import { startStatusPage, type StatusPage } from '../../local/status-page/server';
import { launchChromium } from '../support/chromium';
import { ordersFile, range, startRuntime, uploadAndSettle } from './support';

jest.setTimeout(240_000);

const ARTIFACTS = join(__dirname, '..', '..', 'artifacts');

async function runRecords(runtime: LocalRuntime): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for await (const r of runtime.deps.runs.listByDataset('orders')) out.push(r);
  return out;
}

/** Each run row the page shows: its id, the status attribute and the badge's text. */
function shownRuns(page: Page): Promise<{ runId: string; status: string; text: string }[]> {
  return page.$$eval('section[data-dataset="orders"] tr[data-run-id]', (rows) =>
    rows.map((r) => ({ runId: r.getAttribute('data-run-id') ?? '', status: r.getAttribute('data-status') ?? '', text: r.querySelector('[data-field="status"]')?.textContent ?? '' })),
  );
}

describe('the status page', () => {
  let runtime: LocalRuntime;
  let statusPage: StatusPage;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    runtime = await startRuntime();
    await uploadAndSettle(runtime, [
      { key: 'orders/a.parquet', body: ordersFile(range(1, 20), 0, 'new') },
      { key: 'orders/b.parquet', body: ordersFile(range(21, 5), 0, 'new') },
      // A truncated file: quarantined, with its reason.
      { key: 'orders/bad.parquet', body: ordersFile(range(40, 5), 0, 'new').subarray(0, 200) },
    ]);
    // A run that fails: an execution input no dataset run accepts.
    await runtime.startExecution({ dataset: 'orders', mode: 'no-such-mode' }, 'orders-bad-input');
    await runtime.waitForIdle();
    statusPage = await startStatusPage({ ...localStatusSource(runtime), source: 'test runtime', pollMs: 200 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    await page.goto(statusPage.url);
    await page.waitForSelector('section[data-dataset="orders"] tr[data-run-id]');
  });

  afterAll(async () => {
    await browser?.close();
    await statusPage?.stop();
    await runtime?.stop();
  });

  it('shows every run with the status its run record holds', async () => {
    const records = await runRecords(runtime);
    expect(records.some((r) => r.status === 'FAILED')).toBe(true);

    const shown = await shownRuns(page);

    expect(shown.map((r) => r.runId)).toEqual(records.map((r) => r.runId));
    for (const row of shown) {
      const record = records.find((r) => r.runId === row.runId)!;
      expect({ runId: row.runId, status: row.status, text: row.text }).toEqual({ runId: record.runId, status: record.status, text: record.status });
    }
  });

  it('shows the health the status says, with the quarantined file and its reason', async () => {
    const status = await localStatusSource(runtime).status();
    const orders = status.datasets.find((d) => d.dataset === 'orders')!;

    expect(await page.getAttribute('section[data-dataset="orders"]', 'data-health')).toBe(orders.health);
    expect(orders.health).toBe('failing');
    const quarantined = await page.$$eval('section[data-dataset="orders"] table[data-field="quarantined"] tr', (rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(quarantined).toEqual(['orders/bad.parquet']);
    expect(await page.textContent('section[data-dataset="orders"] table[data-field="quarantined"]')).toContain(orders.quarantined[0]!.reason!.slice(0, 40));
    const lag = await page.textContent('section[data-dataset="orders"] [data-field="lag"]');
    expect(lag).toContain(orders.lag.level);
  });

  it('serves the report a run links to', async () => {
    const records = await runRecords(runtime);
    const withReport = records.find((r) => r.reportUri);
    expect(withReport).toBeDefined();
    const href = await page.getAttribute(`tr[data-run-id="${withReport!.runId}"] a`, 'href');

    const response = await page.request.get(new URL(href!, statusPage.url).toString());

    expect(response.status()).toBe(200);
    expect(await response.json()).toEqual(await runtime.deps.objects.getJson(withReport!.reportUri!.replace(`s3://${runtime.bucket}/`, '')));
  });

  it('shows a run that ends after the page opened, without a reload', async () => {
    await page.evaluate(() => Object.assign(globalThis, { loadedOnce: true }));
    const before = await shownRuns(page);

    await uploadAndSettle(runtime, [{ key: 'orders/c.parquet', body: ordersFile(range(26, 3), 1, 'shipped') }]);
    const records = await runRecords(runtime);
    const newest = records[0]!;
    expect(before.map((r) => r.runId)).not.toContain(newest.runId);
    await page.waitForSelector(`tr[data-run-id="${newest.runId}"][data-status="${newest.status}"]`, { timeout: 30_000 });

    expect(await page.evaluate(() => (globalThis as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect((await shownRuns(page)).map((r) => r.runId)).toEqual(records.map((r) => r.runId));
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
  });
});
