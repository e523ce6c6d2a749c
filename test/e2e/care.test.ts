// Care records in the browser: the doctor calls a booked patient, writes the visit record and a prescription
// on the console's Record tab, and the patient finds both (and who opened their records) on /me/appointments.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { auditPage } from './a11y.js';
import {
  type ConsoleWatch,
  call,
  confirmedSession,
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

const PATIENT = 'patient@demo.carequeue.local';
const DOCTOR = 'dr.rahman@demo.carequeue.local';
const ADMIN = 'admin@demo.carequeue.local';

let server: RunningServer;
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
const watch: ConsoleWatch = { errors: [], outage: false };
const zone = earlyZoneToday();

async function newPage(name: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, timezoneId: zone.timezone });
  watchConsole(page, name, watch);
  return page;
}

async function signIn(page: Page, email: string) {
  await page.goto(`${server.url}/signin`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/signin');
}

before(async () => {
  data = await tempDataDir();
  await mkdir(SCREENSHOTS, { recursive: true });
  server = await startServer(data.dir, await freePort());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await data?.remove();
});

test('the doctor writes the called patient’s visit record and prescription; the patient reads them', async () => {
  const admin = await login(server.url, ADMIN);
  const doctor = await login(server.url, DOCTOR);
  const patient = await login(server.url, PATIENT);
  const hospital = await call<{ id: string }>(
    server.url,
    'POST',
    '/hospitals',
    { name: 'Care Records Clinic', city: 'Dhaka', address: 'Road 2, Gulshan', timezone: zone.timezone },
    admin.accessToken,
  );
  const session = await confirmedSession(
    server.url,
    doctor.user.doctorId as string,
    doctor.accessToken,
    {
      hospitalId: hospital.id,
      weekday: zone.weekday,
      start: `${String(zone.localHour + 1).padStart(2, '0')}:00`,
      end: '23:00',
      slotMinutes: 10,
      room: '7',
      fee: 500,
      bookingClosesMinutes: -600,
    },
    admin.accessToken,
  );
  const booked = await call<{ id: string; queueId: string }>(
    server.url,
    'POST',
    '/appointments',
    { sessionId: session.id, date: zone.date },
    patient.accessToken,
  );
  await call(
    server.url,
    'POST',
    `/queues/${booked.queueId}/entries/${booked.id}/call`,
    { reason: 'emergency' },
    doctor.accessToken,
  );

  const doctorPage = await newPage('doctor record');
  await signIn(doctorPage, DOCTOR);
  await doctorPage.goto(`${server.url}/doctor`);
  // The console follows the first session of the day; pick this test's when there are several.
  const sessionTab = doctorPage.getByRole('tab', { name: /Care Records Clinic/ });
  // The console renders its queue (and its session tabs, when there are several) after loading the day.
  await doctorPage.getByTestId('now-serving').waitFor();
  await sessionTab.waitFor({ timeout: 5_000 }).catch(() => {});
  if (await sessionTab.count()) await sessionTab.click();
  await doctorPage.getByTestId('now-serving').filter({ hasNotText: '—' }).waitFor();
  await doctorPage.getByRole('tab', { name: 'Record', exact: true }).click();
  const form = doctorPage.getByRole('form', { name: 'Visit record' });
  await form.getByLabel('Complaint').fill('Headache for two days');
  await form.getByLabel('Diagnosis').fill('Tension headache');
  await form.getByLabel('ICD-10 code').fill('g44.2');
  await form.getByLabel('BP systolic (mmHg)').fill('124');
  await form.getByLabel('BP diastolic (mmHg)').fill('80');
  await form.getByLabel('Pulse (/min)').fill('72');
  await form.getByRole('button', { name: 'Save record' }).click();
  await doctorPage.getByRole('heading', { name: 'Visit record (version 1)' }).waitFor();

  const rx = doctorPage.getByRole('form', { name: 'Prescription' });
  await rx.getByLabel('Drug').fill('Paracetamol');
  await rx.getByLabel('Strength').fill('500 mg');
  await rx.getByLabel('Dose').fill('1 tablet');
  await rx.getByLabel('Frequency').fill('three times a day');
  await rx.getByLabel('Duration').fill('3 days');
  await rx.getByRole('button', { name: 'Issue prescription' }).click();
  await doctorPage.getByTestId('prescription').filter({ hasText: 'Paracetamol 500 mg' }).waitFor();
  await doctorPage.screenshot({ path: join(SCREENSHOTS, 'doctor-record.png') });
  const consoleProblems = await auditPage(doctorPage);

  const mine = await newPage('my records');
  await signIn(mine, PATIENT);
  await mine.goto(`${server.url}/me/appointments`);
  const records = mine.getByTestId('my-records');
  await records.getByTestId('visit-record').filter({ hasText: 'Tension headache (G44.2)' }).waitFor();
  assert.ok((await records.textContent())?.includes('Paracetamol 500 mg'));
  await records.getByTestId('record-access').filter({ hasText: 'wrote a visit record' }).waitFor();
  await records.scrollIntoViewIfNeeded();
  await mine.screenshot({ path: join(SCREENSHOTS, 'my-records.png'), fullPage: true });
  const mineProblems = await auditPage(mine);

  assert.deepEqual([...consoleProblems, ...mineProblems], []);
  assert.deepEqual(watch.errors, []);
});
