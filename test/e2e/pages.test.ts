// The pages as their users meet them beyond the happy path (issue 12): bad links and refusals read as plain
// sentences, a patient picks a serial, reschedules, books for a family member and joins a full day's
// waitlist, the doctor and the desk serve out of order with a reason while the lobby screen agrees, a walk-in's
// link stays up, skipped and no-show phones say what to do, and a doctor edits what an admin verifies.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type AuditOptions, auditPage } from './a11y.js';
import {
  type ConsoleWatch,
  call,
  confirmedSession,
  earlyZoneToday,
  freePort,
  launchBrowser,
  login,
  type RunningServer,
  SCREENSHOTS,
  startServer,
  tempDataDir,
  watchConsole,
} from './harness.js';

const PATIENT = 'patient@demo.carequeue.local';
const DOCTOR = 'dr.rahman@demo.carequeue.local';
const ADMIN = 'admin@demo.carequeue.local';
const PASSWORD = 'carequeue-demo';
const HOSPITAL = 'Banani Pages Clinic';

let server: RunningServer;
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
const consoleWatch: ConsoleWatch = { errors: [], outage: false };
const zone = earlyZoneToday();
const a11yProblems: string[] = [];
const stamp = Date.now();
let hospitalId = '';
let doctorId = '';
let todaySessionId = '';
let fullSessionId = '';
const tomorrow = addDays(zone.date, 1);

function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

async function audit(page: Page, name: string, options?: AuditOptions) {
  for (const problem of await auditPage(page, options)) a11yProblems.push(`${name}: ${problem}`);
}

async function newPage(name: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport, timezoneId: zone.timezone });
  watchConsole(page, name, consoleWatch);
  return page;
}

async function signIn(page: Page, email: string) {
  await page.goto(`${server.url}/signin`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/signin');
}

const createSession = (token: string, body: Record<string, unknown>, adminToken: string) =>
  confirmedSession(server.url, doctorId, token, body, adminToken);

async function newPatient(name: string) {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${stamp}@example.com`;
  const tokens = await call<{ accessToken: string }>(server.url, 'POST', '/auth/register', {
    email,
    password: PASSWORD,
    name,
    role: 'patient',
  });
  return { ...tokens, email };
}

interface Entry {
  serial: number;
  status: string;
  position: number | null;
  appointmentId: string;
}

/** Serves (call, complete) whoever is ahead of `mine`, so the test's own patients are at the front. */
async function serveUntil(queueId: string, token: string, mine: number[]) {
  for (;;) {
    const snap = await call<{ entries: Entry[] }>(server.url, 'GET', `/queues/${queueId}`, undefined, token);
    const head = snap.entries.find((e) => e.position === 0);
    for (const e of snap.entries.filter((x) => x.status === 'called'))
      await call(server.url, 'POST', `/queues/${queueId}/entries/${e.appointmentId}/complete`, {}, token);
    if (!head || mine.includes(head.serial)) return;
    await call(server.url, 'POST', `/queues/${queueId}/entries/${head.appointmentId}/call`, {}, token);
  }
}

async function bookApi(token: string, sessionId: string, date: string, extra: Record<string, unknown> = {}) {
  return call<{ id: string; serial: number; trackingToken: string; queueId: string }>(
    server.url,
    'POST',
    '/appointments',
    { sessionId, date, ...extra },
    token,
  );
}

/** WCAG contrast of an element's text against its own background, as the browser paints it now. */
async function contrastOf(page: Page, selector: string): Promise<number> {
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  return page.evaluate((sel) => {
    const el = document.querySelector(sel) as HTMLElement;
    const style = getComputedStyle(el);
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const a = lum(rgb(style.color));
    const b = lum(rgb(style.backgroundColor));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }, selector);
}

before(async () => {
  data = await tempDataDir();
  await mkdir(SCREENSHOTS, { recursive: true });
  server = await startServer(data.dir, await freePort());
  browser = await launchBrowser();
  const admin = await login(server.url, ADMIN);
  const hospital = await call<{ id: string }>(
    server.url,
    'POST',
    '/hospitals',
    { name: HOSPITAL, city: 'Dhaka', address: 'Road 11, Banani', timezone: zone.timezone },
    admin.accessToken,
  );
  hospitalId = hospital.id;
  const doctor = await login(server.url, DOCTOR);
  doctorId = doctor.user.doctorId as string;
  const start = `${String(zone.localHour + 1).padStart(2, '0')}:00`;
  todaySessionId = (
    await createSession(
      doctor.accessToken,
      {
        hospitalId,
        weekday: zone.weekday,
        start,
        end: '23:00',
        slotMinutes: 10,
        room: '5',
        fee: 700,
        // Bookable all day whatever the hour the suite runs at (by default booking closes at the start).
        bookingClosesMinutes: -600,
      },
      admin.accessToken,
    )
  ).id;
  // Tomorrow: one place only, taken at once, so the day is full and offers its waitlist.
  fullSessionId = (
    await createSession(
      doctor.accessToken,
      {
        hospitalId,
        weekday: (zone.weekday % 7) + 1,
        start: '09:00',
        end: '09:10',
        slotMinutes: 10,
        capacity: 1,
        room: '5',
        fee: 700,
      },
      admin.accessToken,
    )
  ).id;
  const filler = await newPatient('Full Day Filler');
  await bookApi(filler.accessToken, fullSessionId, tomorrow);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await data?.remove();
});

test('bad links and refusals read as plain sentences, and a screen that cannot show the queue never says Live', async () => {
  consoleWatch.expected = [
    /HTTP 40[04] GET \/v1\/(track|hospitals)\//,
    /status of 40[04]/,
    /Failed to load resource/,
  ];
  const phone = await newPage('bad link phone', { width: 390, height: 844 });
  for (const token of ['short', 'x'.repeat(40)]) {
    await phone.goto(`${server.url}/t/${token}`);
    const error = phone.getByTestId('track-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    assert.match(text, /This tracking link is not valid or has expired/);
    assert.doesNotMatch(text, /params|must NOT|characters|trackingToken/);
    await phone.locator('[data-testid=connection][data-state=error]').waitFor();
    assert.doesNotMatch((await phone.getByTestId('connection').textContent()) ?? '', /Live/);
  }
  await shot(phone, 'tracking-link-invalid');
  await audit(phone, 'bad tracking link', { noNav: true });

  const screen = await newPage('bad screen', { width: 1600, height: 900 });
  for (const id of ['not-a-hospital', '00000000-0000-4000-8000-000000000000']) {
    await screen.goto(`${server.url}/screen?hospitalId=${id}`);
    const error = screen.getByTestId('screen-error');
    await error.waitFor();
    assert.doesNotMatch((await error.textContent()) ?? '', /params|must|NOT_FOUND|VALIDATION|Error:/);
    await screen.locator('[data-testid=connection][data-state=error]').waitFor();
    // The socket itself connects a moment later: the badge must still not claim Live.
    await screen.waitForTimeout(1500);
    assert.equal(await screen.getByTestId('connection').getAttribute('data-state'), 'error');
    assert.doesNotMatch((await screen.getByTestId('connection').textContent()) ?? '', /Live/);
  }
  await audit(screen, 'bad lobby link', { noNav: true });
  consoleWatch.expected = undefined;

  // The session form never sends a blank hospital: it is required (and preselected when obvious).
  const doctorPage = await newPage('doctor sessions form');
  await signIn(doctorPage, DOCTOR);
  await doctorPage.goto(`${server.url}/doctor`);
  await doctorPage.getByRole('tab', { name: 'Profile & sessions' }).click();
  const hospital = doctorPage.getByLabel('Hospital', { exact: true });
  await hospital.waitFor();
  let posted = 0;
  doctorPage.on('request', (r) => {
    if (r.method() === 'POST' && /\/v1\/doctors\/[^/]+\/sessions$/.test(r.url())) posted++;
  });
  await hospital.selectOption('');
  await doctorPage.getByRole('button', { name: 'Add session' }).click();
  assert.equal(await hospital.evaluate((el) => (el as HTMLSelectElement).validity.valueMissing), true);
  await doctorPage.waitForTimeout(300);
  assert.equal(posted, 0, 'a blank hospital is never sent');

  // A refusal the API does send (an overlapping sitting) reads as a sentence, not as the validator's text.
  await hospital.selectOption({ label: `${HOSPITAL}, Dhaka` });
  await doctorPage.getByLabel('Day', { exact: true }).selectOption(String(zone.weekday));
  await doctorPage.getByLabel('Starts').fill('22:00');
  await doctorPage.getByLabel('Ends').fill('22:30');
  consoleWatch.expected = [/HTTP 409 POST \/v1\/doctors\//, /status of 409/];
  await doctorPage.getByRole('button', { name: 'Add session' }).click();
  const toast = doctorPage.locator('#toast.show.error');
  await toast.waitFor();
  assert.match((await toast.textContent()) ?? '', /overlaps another of your sessions/);
  consoleWatch.expected = undefined;
  for (const page of [phone, screen, doctorPage]) await page.close();
  assert.deepEqual(consoleWatch.errors.splice(0), []);
  assert.deepEqual(a11yProblems.splice(0), []);
});

test('a patient picks a serial, loses a race for one, reschedules, books for a family member and joins a full day’s waitlist', async () => {
  const patient = await newPage('patient');
  await signIn(patient, PATIENT);
  await patient.goto(`${server.url}/doctors/${doctorId}`);
  const today = patient.locator(`[data-testid=availability] button[data-date="${zone.date}"]`, {
    hasText: HOSPITAL,
  });
  await today.click();
  const picker = patient.getByTestId('serial-picker');
  await picker.locator('input[name=serial]').first().waitFor();
  const free = await picker.locator('input[name=serial]').evaluateAll((els) =>
    els.map((e) => ({
      serial: Number((e as HTMLInputElement).value),
      checked: (e as HTMLInputElement).checked,
    })),
  );
  assert.equal(free[0].checked, true, 'the next free serial is the default');
  assert.match((await patient.getByTestId('book-panel').textContent()) ?? '', /Fee BDT 700/);
  const wanted = free[3].serial;
  await picker.getByLabel(new RegExp(`^#${wanted}\\b`)).check();
  await patient.getByTestId('book-panel').screenshot({ path: join(SCREENSHOTS, 'serial-picker.png') });
  await audit(patient, 'serial picker');

  // A second patient, on another phone, has the same serial chosen when the first one books it.
  const rival = await newPatient('Rival Patient');
  const other = await newPage('rival');
  await signIn(other, rival.email);
  await other.goto(`${server.url}/doctors/${doctorId}`);
  await other
    .locator(`[data-testid=availability] button[data-date="${zone.date}"]`, { hasText: HOSPITAL })
    .click();
  await other
    .getByTestId('serial-picker')
    .getByLabel(new RegExp(`^#${wanted}\\b`))
    .check();

  await patient.getByTestId('book').click();
  assert.equal(await patient.getByTestId('booked-serial').textContent(), String(wanted));

  consoleWatch.expected = [/HTTP 409 POST \/v1\/appointments/, /status of 409/];
  await other.getByTestId('book').click();
  await other.getByText('Someone has just taken that serial. Choose another one.').waitFor();
  // The picker refreshed: the lost serial is gone, another is chosen, and booking it works.
  await other.waitForFunction(
    (n) => !document.querySelector(`[data-testid=serial-picker] input[value="${n}"]`),
    wanted,
  );
  consoleWatch.expected = undefined;
  await other.getByTestId('serial-picker').locator('input[name=serial]:checked').waitFor();
  await other.getByTestId('book').click();
  assert.notEqual(await other.getByTestId('booked-serial').textContent(), String(wanted));
  await other.close();

  // Reschedule from My appointments: the booking moves to another day with room; the list shows it.
  await patient.goto(`${server.url}/me/appointments`);
  const card = patient.locator('article', { hasText: `Serial ${wanted}` });
  await card.getByTestId('reschedule').click();
  const panel = card.getByTestId('reschedule-panel');
  const target = panel.locator('button.day').first();
  await target.waitFor();
  const newDate = (await target.getAttribute('data-date')) as string;
  assert.notEqual(newDate, undefined);
  await panel.screenshot({ path: join(SCREENSHOTS, 'reschedule.png') });
  await audit(patient, 'reschedule');
  await target.click();
  await patient.getByText(/Moved to .*Your tracking link still works/).waitFor();
  const mine = await call<{ items: { id: string; date: string; status: string; serial: number }[] }>(
    server.url,
    'GET',
    '/appointments?limit=50',
    undefined,
    (await login(server.url, PATIENT)).accessToken,
  );
  assert.ok(
    mine.items.some((a) => a.date === newDate && a.status === 'booked'),
    'moved to the chosen day',
  );

  // Family members: add one, fix the name, then book for her from the doctor's page.
  const family = patient.getByTestId('dependents');
  const add = family.getByTestId('dependent-add');
  await add.getByLabel('Full name').fill('Tania Akterr');
  await add.getByLabel('Relation').selectOption('child');
  await add.getByRole('button', { name: 'Add' }).click();
  await family.locator('article', { hasText: 'Tania Akterr' }).waitFor();
  await family.getByRole('button', { name: 'Edit Tania Akterr' }).click();
  const edit = family.getByTestId('dependent-edit');
  await edit.getByLabel('Full name').fill('Tania Akter');
  await edit.getByRole('button', { name: 'Save' }).click();
  await family
    .locator('article', { hasText: 'Tania Akter' })
    .getByRole('link', { name: 'Book for Tania Akter' })
    .waitFor();
  await family.screenshot({ path: join(SCREENSHOTS, 'dependents.png') });
  await audit(patient, 'dependents');

  await patient.goto(`${server.url}/doctors/${doctorId}`);
  await patient
    .locator(`[data-testid=availability] button[data-date="${zone.date}"]`, { hasText: HOSPITAL })
    .click();
  await patient.getByLabel('Who is the appointment for?').selectOption({ label: 'Tania Akter (child)' });
  await patient.getByTestId('serial-picker').locator('input[name=serial]:checked').waitFor();
  await patient.getByTestId('book').click();
  await patient.getByTestId('booked-serial').waitFor();

  // A full day: the calendar says so, and the patient joins its waitlist instead of booking.
  await patient.goto(`${server.url}/doctors/${doctorId}`);
  const full = patient.locator(`[data-testid=availability] button[data-date="${tomorrow}"]`, {
    hasText: 'Full · waitlist',
  });
  await full.click();
  const waitlist = patient.getByTestId('waitlist');
  await waitlist.getByTestId('join-waitlist').waitFor();
  await waitlist.screenshot({ path: join(SCREENSHOTS, 'waitlist.png') });
  await audit(patient, 'waitlist');
  await waitlist.getByTestId('join-waitlist').click();
  await patient.getByTestId('waitlist-joined').waitFor();
  await patient.goto(`${server.url}/me/appointments`);
  await patient.getByTestId('my-waitlist').getByText('Waiting for a place to free up').waitFor();
  await patient.close();
  assert.deepEqual(consoleWatch.errors.splice(0), []);
  assert.deepEqual(a11yProblems.splice(0), []);
});

test('out of order with a reason from the console and the desk, while the lobby and the phones agree', async () => {
  const patients = await Promise.all(['Queue One', 'Queue Two', 'Queue Three', 'Queue Four'].map(newPatient));
  const booked = [];
  for (const p of patients) booked.push(await bookApi(p.accessToken, todaySessionId, zone.date));
  const queueId = booked[0].queueId;
  const doctor = await login(server.url, DOCTOR);
  // Earlier tests' bookings are served first, so this test's four patients are the front of the line.
  await serveUntil(
    queueId,
    doctor.accessToken,
    booked.map((b) => b.serial),
  );

  const screen = await newPage('lobby', { width: 1600, height: 900 });
  await screen.goto(`${server.url}/screen?hospitalId=${hospitalId}`);
  await screen.locator('[data-testid=connection][data-state=live]').waitFor();
  const panel = screen.locator('.panel', { hasText: 'Dr. Ayesha Rahman' });
  // The sound toggle reads well in every state, hovered too.
  await screen.getByRole('button', { name: /call-outs/ }).hover();
  assert.ok(
    (await contrastOf(screen, '.tv-head button')) >= 4.5,
    'the sound toggle is readable when hovered',
  );

  const console_ = await newPage('console');
  await signIn(console_, DOCTOR);
  await console_.goto(`${server.url}/doctor`);
  const tab = console_.getByRole('tab', { name: new RegExp(HOSPITAL) });
  await console_.getByTestId('call-next').waitFor();
  if ((await tab.count()) > 0) await tab.click();
  const table = console_.locator('.queue-list');
  await table.getByText('Queue One').waitFor();

  // Call next, then skip: the skipped patient's phone says what to do.
  const head = booked[0].serial;
  await console_.getByTestId('call-next').click();
  await console_
    .getByTestId('now-serving')
    .filter({ hasText: new RegExp(`^${head}$`) })
    .waitFor();
  await panel
    .getByTestId('now-serving')
    .filter({ hasText: new RegExp(`^${head}$`) })
    .waitFor();
  await console_.getByRole('button', { name: /^Skip/ }).click();
  const headRow = table.locator(`tr[data-serial="${head}"]`);
  await headRow.getByText('Skipped').waitFor();
  const phone = await newPage('skipped phone', { width: 390, height: 844 });
  await phone.goto(`${server.url}/t/${booked[0].trackingToken}`);
  await phone.getByTestId('what-now').filter({ hasText: 'ask to be recalled' }).waitFor();
  await audit(phone, 'skipped phone', { noNav: true });

  // Recall asks for a reason, with a default; Cancel sends nothing, the chosen reason is sent.
  let entryPosts = 0;
  console_.on('request', (r) => {
    if (r.method() === 'POST' && /\/entries\/[^/]+\/(call|recall)$/.test(r.url())) entryPosts++;
  });
  await headRow.getByRole('button', { name: `Recall serial ${head}` }).click();
  const dialog = console_.getByTestId('reason-picker');
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel('Returning with test results').isChecked(), true);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(entryPosts, 0, 'a cancelled picker sends nothing');
  await headRow.getByRole('button', { name: `Recall serial ${head}` }).click();
  await dialog.waitFor();
  await dialog.getByLabel('Elderly or disabled').check();
  await dialog.screenshot({ path: join(SCREENSHOTS, 'reason-picker.png') });
  await audit(console_, 'reason picker');
  await dialog.getByTestId('reason-confirm').click();
  // Back in line (a patient who was called counts as checked in).
  await headRow.getByText(/Booked|Checked in/).waitFor();
  assert.equal(entryPosts, 1);
  await phone.getByTestId('what-now').waitFor({ state: 'detached' });

  // The desk: an emergency walk-in's link stays until dismissed; the lobby marks the serial, never the name.
  const desk = await newPage('desk');
  await signIn(desk, ADMIN);
  await desk.goto(`${server.url}/desk?hospitalId=${hospitalId}`);
  const deskQueue = desk.locator('section[data-queue-id]', { hasText: 'Dr. Ayesha Rahman' });
  await deskQueue.getByText('Queue Two').waitFor();
  await deskQueue.getByLabel('Walk-in name').fill('Jamal Uddin');
  await deskQueue.getByLabel('Priority').selectOption('emergency');
  await deskQueue.getByRole('button', { name: 'Add walk-in' }).click();
  const link = desk.getByTestId('walk-in-link');
  await link.getByRole('link', { name: /\/t\// }).waitFor();
  await desk.waitForTimeout(5000);
  assert.equal(await link.isVisible(), true, 'the link is still shown after the toast would have gone');
  await audit(desk, 'desk with walk-in link');
  await link.getByRole('button', { name: /Dismiss/ }).click();
  await link.waitFor({ state: 'detached' });
  assert.doesNotMatch((await screen.locator('main').textContent()) ?? '', /Jamal|Queue (One|Two|Three|Four)/);

  // Call now on someone further back, from the desk: a reason is asked (urgent patients default to
  // emergency, others to a staff decision), and every screen then shows that serial as now serving.
  const last = booked[3].serial;
  const lastRow = deskQueue.locator(`tr[data-serial="${last}"]`);
  await lastRow.getByRole('button', { name: `Call now serial ${last}` }).click();
  const deskDialog = desk.getByTestId('reason-picker');
  await deskDialog.waitFor();
  assert.equal(await deskDialog.getByLabel('Staff decision').isChecked(), true);
  await deskDialog.getByTestId('reason-confirm').click();
  const serving = new RegExp(`^${last}$`);
  await panel.getByTestId('now-serving').filter({ hasText: serving }).waitFor();
  await console_.getByTestId('now-serving').filter({ hasText: serving }).waitFor();
  await deskQueue.locator('b', { hasText: serving }).first().waitFor();
  await shot(screen, 'lobby-screen-reasons');
  await audit(screen, 'lobby screen', { noNav: true });

  // No-show: that phone says what to do next.
  await console_
    .locator('.actions')
    .getByRole('button', { name: /^No-show/ })
    .click();
  await phone.goto(`${server.url}/t/${booked[3].trackingToken}`);
  await phone.getByTestId('what-now').filter({ hasText: 'marked as not here' }).waitFor();
  for (const page of [screen, console_, desk, phone]) await page.close();
  assert.deepEqual(consoleWatch.errors.splice(0), []);
  assert.deepEqual(a11yProblems.splice(0), []);
});

test('the lobby screen marks an emergency walk-in’s serial', async () => {
  const screen = await newPage('lobby urgent', { width: 1600, height: 900 });
  await screen.goto(`${server.url}/screen?hospitalId=${hospitalId}`);
  await screen.locator('[data-testid=connection][data-state=live]').waitFor();
  const admin = await login(server.url, ADMIN);
  const queues = await call<{ items: { queueId: string }[] }>(
    server.url,
    'GET',
    `/queues?date=${zone.date}&hospitalId=${hospitalId}`,
    undefined,
    admin.accessToken,
  );
  await call(
    server.url,
    'POST',
    `/queues/${queues.items[0].queueId}/walk-ins`,
    { name: 'Urgent Walk-in', priority: 10, reason: 'emergency' },
    admin.accessToken,
  );
  await screen.reload();
  await screen.getByTestId('urgent-note').waitFor({ timeout: 5000 });
  assert.ok((await screen.locator('.next span.urgent').count()) > 0);
  assert.doesNotMatch((await screen.locator('main').textContent()) ?? '', /Urgent Walk-in/);
  await screen.close();
  consoleWatch.errors.splice(0);
});

test('a doctor edits specialization, qualifications and photo, awaiting verification until an admin verifies', async () => {
  const email = `dr-pages-${stamp}@example.com`;
  await call(server.url, 'POST', '/auth/register', {
    email,
    password: PASSWORD,
    name: 'Dr. Sadia Karim',
    role: 'doctor',
    licenseNo: `BMDC-P-${stamp}`,
  });
  const page = await newPage('new doctor');
  await signIn(page, email);
  await page.goto(`${server.url}/doctor`);
  // An empty day: no session yet, said plainly.
  await page.getByText('No session with patients today.').waitFor();
  await page.getByRole('tab', { name: 'Profile & sessions' }).click();
  const form = page.getByTestId('credentials');
  await form.getByTestId('awaiting-verification').waitFor();
  const firstSpec = form.locator('input[name=specializationId]').first();
  await firstSpec.check();
  const specName = ((await firstSpec.locator('xpath=..').textContent()) ?? '').trim();
  const qual = form.getByLabel('Qualification', { exact: true }).first();
  const options = await qual
    .locator('option')
    .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
  await qual.selectOption(options[1]);
  await form.getByLabel('Institute').first().fill('Dhaka Medical College');
  await form.getByLabel('Year').first().fill('2015');
  // A 1×1 PNG.
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  await form.getByLabel(/^Photo/).setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
  await form.screenshot({ path: join(SCREENSHOTS, 'doctor-profile-edit.png') });
  await audit(page, 'doctor profile edit');
  await form.getByRole('button', { name: 'Save and send for verification' }).click();
  await page.getByText('Profile sent for verification').waitFor();
  const me = await login(server.url, email);
  const profile = await call<{
    verified: boolean;
    photoUrl: string | null;
    specializations: { name: string }[];
    qualifications: { institute: string; year: number | null }[];
  }>(server.url, 'GET', `/doctors/${me.user.doctorId}`, undefined, me.accessToken);
  assert.equal(profile.verified, false);
  assert.ok(profile.photoUrl, 'the photo was uploaded');
  assert.ok(profile.specializations.some((s) => s.name === specName));
  assert.deepEqual(
    profile.qualifications.map((q) => [q.institute, q.year]),
    [['Dhaka Medical College', 2015]],
  );

  const admin = await login(server.url, ADMIN);
  await call(server.url, 'POST', `/doctors/${me.user.doctorId}/verify`, {}, admin.accessToken);
  await page.reload();
  await page.getByRole('tab', { name: 'Profile & sessions' }).click();
  await page.getByTestId('credentials').getByText('Verified.').waitFor();
  assert.equal(await page.getByTestId('awaiting-verification').count(), 0);
  await page.close();
  assert.deepEqual(consoleWatch.errors.splice(0), []);
  assert.deepEqual(a11yProblems.splice(0), []);
});

test('a session the doctor adds waits for the hospital: marked in the console, confirmed from the desk', async () => {
  const doctor = await login(server.url, DOCTOR);
  const body = {
    hospitalId,
    weekday: ((zone.weekday + 2) % 7) + 1,
    start: '21:00',
    end: '22:00',
    slotMinutes: 15,
    room: '7',
    fee: 500,
  };
  let pending: { id: string; status: string } | undefined;
  for (let attempt = 0; !pending; attempt++) {
    try {
      pending = await call(server.url, 'POST', `/doctors/${doctorId}/sessions`, body, doctor.accessToken);
    } catch (err) {
      const overlap = /→ 409 .*"sessionId":"([0-9a-f-]{36})"/.exec(String(err));
      if (!overlap || attempt > 5) throw err;
      await call(
        server.url,
        'DELETE',
        `/sessions/${overlap[1]}?cancelAffected=true`,
        undefined,
        doctor.accessToken,
      );
    }
  }
  assert.equal(pending.status, 'pending');

  const console_ = await newPage('doctor pending session');
  await signIn(console_, DOCTOR);
  await console_.goto(`${server.url}/doctor`);
  await console_.getByRole('tab', { name: 'Profile & sessions' }).click();
  const row = console_.locator(`[data-session-id="${pending.id}"]`);
  await row.getByText('waiting for the hospital to confirm').waitFor();

  const desk = await newPage('desk pending sessions');
  await signIn(desk, ADMIN);
  await desk.goto(`${server.url}/desk?hospitalId=${hospitalId}`);
  const list = desk.getByTestId('pending-sessions');
  const confirm = list.getByRole('button', { name: /^Confirm / });
  await confirm.first().waitFor();
  await audit(desk, 'desk pending sessions');
  await confirm.first().click();
  await list.getByText('No sessions are waiting for confirmation.').waitFor();
  const sessions = await call<{ items: { id: string; status: string }[] }>(
    server.url,
    'GET',
    `/doctors/${doctorId}/sessions`,
    undefined,
    doctor.accessToken,
  );
  assert.equal(sessions.items.find((s) => s.id === pending.id)?.status, 'confirmed');
  await console_.reload();
  await console_.getByRole('tab', { name: 'Profile & sessions' }).click();
  await console_.locator(`[data-session-id="${pending.id}"]`).waitFor();
  assert.equal(await row.getByText('waiting for the hospital to confirm').count(), 0);
  for (const page of [console_, desk]) await page.close();
  assert.deepEqual(consoleWatch.errors.splice(0), []);
  assert.deepEqual(a11yProblems.splice(0), []);
});
