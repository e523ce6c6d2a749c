// After the visit in the browser (issue 15): the patient finds the invoice of a completed visit on
// /me/appointments in the hospital's own currency and opens its PDF, and gives feedback from the link in the
// feedback e-mail (a real SMTP server) without signing in — once; a bad link says so in a plain sentence.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TestSmtp } from '../helpers/smtp.js';
import { auditPage } from './a11y.js';
import {
  type ConsoleWatch,
  call,
  DEMO_PASSWORD,
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

const ADMIN = 'admin@demo.carequeue.local';
const stamp = Date.now();
const patientEmail = `invoice-patient-${stamp}@example.com`;

let smtp: TestSmtp;
let server: RunningServer;
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
const zone = earlyZoneToday();
const watch: ConsoleWatch = { errors: [], outage: false };
const a11y: string[] = [];
let hospitalId = '';
let appointmentId = '';

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

async function newPage(name: string, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport, timezoneId: zone.timezone });
  watchConsole(page, name, watch);
  return page;
}

/** The feedback link in the newest mail to this address, waiting for the outbox drain to send it. */
async function feedbackLink(to: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mail = smtp.mails.filter((m) => m.to.includes(to) && /feedback\//.test(m.raw)).at(-1);
    const text = mail?.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const match = text ? /(http:\/\/[^\s]+\/feedback\/[A-Za-z0-9_-]+)/.exec(text) : null;
    if (match) return match[1];
    if (Date.now() > deadline) throw new Error(`no feedback mail to ${to}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  smtp = await TestSmtp.start();
  data = await tempDataDir();
  await mkdir(SCREENSHOTS, { recursive: true });
  server = await startServer(data.dir, await freePort(), {
    NOTIFY_EMAIL: 'smtp',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'CareQueue <noreply@clinic.test>',
    OUTBOX_DRAIN_CRON: '* * * * * *',
  });
  browser = await launchBrowser();
  const admin = await login(server.url, ADMIN);
  // Quiet hours of one minute late at night: the feedback mail is not held whatever hour the suite runs at.
  const hospital = await call<{ id: string }>(
    server.url,
    'POST',
    '/hospitals',
    {
      name: 'Gulshan Billing Clinic',
      city: 'Dhaka',
      address: 'Road 90, Gulshan 2',
      timezone: zone.timezone,
      currency: 'EUR',
      quietStart: '23:58',
      quietEnd: '23:59',
    },
    admin.accessToken,
  );
  hospitalId = hospital.id;
  const doctorEmail = `dr-billing-${stamp}@example.com`;
  await call(server.url, 'POST', '/auth/register', {
    email: doctorEmail,
    password: DEMO_PASSWORD,
    name: 'Dr. Farzana Haque',
    role: 'doctor',
    licenseNo: `BMDC-${stamp}`,
  });
  const doctor = await login(server.url, doctorEmail);
  const doctorId = doctor.user.doctorId as string;
  await call(server.url, 'POST', `/doctors/${doctorId}/verify`, {}, admin.accessToken);
  const session = await call<{ id: string }>(
    server.url,
    'POST',
    `/doctors/${doctorId}/sessions`,
    {
      hospitalId,
      weekday: zone.weekday,
      start: `${String(zone.localHour + 1).padStart(2, '0')}:00`,
      end: '23:00',
      slotMinutes: 10,
      fee: 700,
      bookingClosesMinutes: -600,
    },
    admin.accessToken,
  );
  await call(server.url, 'POST', '/auth/register', {
    email: patientEmail,
    password: DEMO_PASSWORD,
    name: 'Nusrat Jahan',
    role: 'patient',
  });
  const patient = await login(server.url, patientEmail);
  const booked = await call<{ id: string; queueId: string }>(
    server.url,
    'POST',
    '/appointments',
    { sessionId: session.id, date: zone.date },
    patient.accessToken,
  );
  appointmentId = booked.id;
  for (const step of ['call', 'complete'])
    await call(
      server.url,
      'POST',
      `/queues/${booked.queueId}/entries/${booked.id}/${step}`,
      {},
      doctor.accessToken,
    );
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.stop();
  await data?.remove();
});

test('the patient sees the invoice of a completed visit in the hospital’s currency and opens its PDF', async () => {
  const page = await newPage('my appointments');
  await page.goto(`${server.url}/signin`);
  await page.getByLabel('E-mail').fill(patientEmail);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/signin');
  await page.goto(`${server.url}/me/appointments`);
  const invoice = page.locator(`[data-appointment-id="${appointmentId}"] [data-testid=invoice]`);
  await invoice.waitFor();
  const text = (await invoice.textContent()) ?? '';
  assert.match(text, /Invoice [A-Z0-9]+-\d{4}-000001/);
  assert.match(text, /EUR 700/);
  assert.match(text, /To pay/);
  const [pdf] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/v1/appointments/${appointmentId}/invoice`)),
    page.getByTestId('invoice-pdf').click(),
  ]);
  assert.equal(pdf.status(), 200);
  assert.match(pdf.headers()['content-type'] ?? '', /^application\/pdf/);
  // The page turned the answer into a blob for a new tab; the bytes are checked by fetching them again in it.
  const head = await page.evaluate(async (id) => {
    const res = await fetch(`/v1/appointments/${id}/invoice`, {
      headers: {
        accept: 'application/pdf',
        authorization: `Bearer ${JSON.parse(Object.values(localStorage).find((v) => v.includes('accessToken')) ?? '{}').accessToken}`,
      },
    });
    return new TextDecoder().decode((await res.arrayBuffer()).slice(0, 4));
  }, appointmentId);
  assert.equal(head, '%PDF');
  await page.bringToFront();
  await shot(page, 'my-appointments-invoice');
  for (const problem of await auditPage(page)) a11y.push(`my appointments: ${problem}`);
});

test('feedback from the e-mailed link without signing in, taken once; a bad link says so', async () => {
  const link = await feedbackLink(patientEmail);
  const phone = await newPage('feedback phone', { width: 390, height: 844 });
  await phone.goto(link);
  const form = phone.getByTestId('feedback-form');
  await form.waitFor();
  assert.match((await form.textContent()) ?? '', /Dr\. Farzana Haque at Gulshan Billing Clinic/);
  for (const problem of await auditPage(phone, { noNav: true })) a11y.push(`feedback: ${problem}`);
  await phone.locator('label[for=fb-visit-5]').click();
  await phone.locator('label[for=fb-wait-3]').click();
  await phone.locator('label[for=fb-recommend-yes]').click();
  await phone.getByLabel('Anything to add? (optional)').fill('Kind doctor; the wait was as the phone said.');
  await shot(phone, 'feedback');
  await phone.getByRole('button', { name: 'Send feedback' }).click();
  await phone.getByTestId('feedback-done').waitFor();
  assert.match((await phone.getByTestId('feedback-done').textContent()) ?? '', /Thank you/);

  await phone.reload();
  await phone.getByTestId('feedback-done').waitFor();
  assert.match((await phone.getByTestId('feedback-done').textContent()) ?? '', /already given/);

  const admin = await login(server.url, ADMIN);
  const list = await call<{
    items: { appointmentId: string; rating: number; waitRating: number; via: string }[];
  }>(server.url, 'GET', `/feedback?hospitalId=${hospitalId}`, undefined, admin.accessToken);
  assert.deepEqual(
    list.items.map((f) => [f.appointmentId, f.rating, f.waitRating, f.via]),
    [[appointmentId, 5, 3, 'link']],
  );

  watch.expected = [/HTTP 404 GET \/v1\/feedback-links\//, /status of 404/];
  await phone.goto(`${server.url}/feedback/${'x'.repeat(43)}`);
  await phone.getByTestId('feedback-invalid').waitFor();
  assert.match((await phone.getByTestId('feedback-invalid').textContent()) ?? '', /not valid or has expired/);
  watch.expected = undefined;
});

test('no console errors and no accessibility problems on these pages', () => {
  assert.deepEqual(watch.errors, []);
  assert.deepEqual(a11y, []);
});
