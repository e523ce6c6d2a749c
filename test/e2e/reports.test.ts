// The schedule and reports pages over the demo clinic's weeks of history: the desk moves between day, week and
// month without a reload, the reports draw their charts and download a CSV a parser reads, and a doctor sees
// only their own figures.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { auditPage } from './a11y.js';
import {
  type ConsoleWatch,
  DEMO_PASSWORD,
  freePort,
  launchBrowser,
  type RunningServer,
  SCREENSHOTS,
  startServer,
  tempDataDir,
  watchConsole,
} from './harness.js';

const DESK = 'desk@demo.carequeue.local';
const DOCTOR = 'dr.rahman@demo.carequeue.local';

let server: RunningServer;
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
const watch: ConsoleWatch = { errors: [], outage: false };
const a11y: string[] = [];
// A week ago: inside the seeded history whatever weekday the tests run on.
const pastDay = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);

before(async () => {
  data = await tempDataDir();
  server = await startServer(data.dir, await freePort());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await data?.remove();
});

async function signedIn(name: string, email: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  watchConsole(page, name, watch);
  await page.goto(`${server.url}/signin`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/signin');
  return page;
}

async function audit(page: Page, name: string) {
  for (const problem of await auditPage(page)) a11y.push(`${name}: ${problem}`);
}

test('the desk moves between day list, week grid and month calendar without reloading', async () => {
  const page = await signedIn('schedule', DESK);
  await page.goto(`${server.url}/desk/schedule?view=week&date=${pastDay}`);
  const grid = page.locator('table.schedule-grid');
  await grid.waitFor();
  assert.ok((await grid.locator('tbody tr').count()) >= 1, 'a row per doctor');
  assert.ok(
    (await grid.locator('.load.low, .load.mid, .load.high, .load.full').count()) > 0,
    'cells coloured by load',
  );
  await page.evaluate(() => {
    (window as unknown as { stayed: boolean }).stayed = true;
  });
  await page.screenshot({ path: join(SCREENSHOTS, 'schedule-week.png') });
  await audit(page, 'schedule week');

  await page.getByRole('tab', { name: 'Month' }).click();
  await page.locator('table.schedule-month').waitFor();
  assert.match(page.url(), /view=month/);
  assert.ok((await page.locator('.month-doctors li').count()) > 20, 'each day lists its doctors');
  await page.screenshot({ path: join(SCREENSHOTS, 'schedule-month.png') });
  await audit(page, 'schedule month');

  await page.getByRole('tab', { name: 'Day' }).click();
  const day = page.locator('table.schedule-day');
  await day.waitFor();
  assert.ok((await day.locator('tbody tr').count()) >= 1);
  await page.getByRole('button', { name: 'Next →' }).click();
  await page.waitForURL((url) => url.searchParams.get('date') !== pastDay);
  await page.goBack();
  await page.waitForURL((url) => url.searchParams.get('date') === pastDay);
  await day.waitFor();
  assert.equal(
    await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed),
    true,
    'no reload',
  );
  await page.close();
});

test('reports draw their charts over the period and download a CSV of one row per doctor per day', async () => {
  const page = await signedIn('reports', DESK);
  await page.goto(`${server.url}/reports?view=month&date=${pastDay}`);
  await page.locator('.report-stats').waitFor();
  await page.locator('.chart canvas').nth(4).waitFor();
  assert.equal(await page.locator('.chart canvas').count(), 5);
  const drawn = await page.evaluate(() =>
    [...document.querySelectorAll('.chart canvas')].every((c) => (c as HTMLCanvasElement).width > 0),
  );
  assert.ok(drawn, 'every chart drew');
  const completed = await page.locator('.stat', { hasText: 'Completed' }).locator('b').textContent();
  assert.ok(Number(completed) > 100, `completed visits this month: ${completed}`);
  assert.ok((await page.locator('.report table tbody tr').count()) >= 2, 'one row per doctor');
  await page.screenshot({ path: join(SCREENSHOTS, 'reports.png'), fullPage: true });
  await audit(page, 'reports');

  await page.getByRole('tab', { name: 'Week' }).click();
  await page.waitForURL(/view=week/);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  const rows: Record<string, string>[] = parse(await readFile((await download.path()) as string, 'utf8'), {
    columns: true,
  });
  assert.ok(rows.length >= 7, `${rows.length} rows`);
  assert.ok(rows.every((r) => r.date && r.doctor_name && r.appointments));
  await page.close();
});

test('a doctor’s reports show only their own figures', async () => {
  const page = await signedIn('doctor reports', DOCTOR);
  await page.goto(`${server.url}/reports?view=week&date=${pastDay}`);
  await page.getByRole('heading', { name: 'My reports' }).waitFor();
  const rows = page.locator('.report table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  assert.match(String(await rows.first().textContent()), /Rahman/);
  await page.close();
});

test('no console errors and no accessibility problems on the schedule and reports pages', () => {
  assert.deepEqual(watch.errors, []);
  assert.deepEqual(a11y, []);
});
