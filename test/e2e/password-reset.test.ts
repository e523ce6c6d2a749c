// Forgotten password in the browser: "Forgot password?" on the sign-in page, the link asked for by e-mail and
// followed from the mail (a real SMTP server here), a new password set, and refusals said in plain sentences.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TestSmtp } from '../helpers/smtp.js';
import { auditPage } from './a11y.js';
import { type ConsoleWatch, freePort, launchBrowser, ROOT, tempDataDir, watchConsole } from './harness.js';

const PATIENT = 'patient@demo.carequeue.local';
const NEW_PASSWORD = 'a quiet lake at dawn';

let smtp: TestSmtp;
let child: ChildProcess;
let base = '';
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
// The refusals this test provokes on purpose (a weak password, a used link, a wrong code).
const watch: ConsoleWatch = {
  errors: [],
  outage: false,
  expected: [/HTTP 400 POST \/v1\/auth\/password-reset\/confirm/, /status of 400/],
};

before(async () => {
  smtp = await TestSmtp.start();
  data = await tempDataDir();
  const port = await freePort();
  // The harness's server, with mail going to the test's SMTP server and the outbox drained every second.
  child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: data.dir,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_AUTH: '1000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      NOTIFY_EMAIL: 'smtp',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'CareQueue <noreply@clinic.test>',
      OUTBOX_DRAIN_CRON: '* * * * * *',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    if (
      await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
  await smtp.stop();
  await data?.remove();
});

async function newPage(name: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchConsole(page, name, watch);
  return page;
}

/** The reset link in the newest mail to this address, waiting for the outbox drain to send it. */
async function linkFromMail(to: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mail = smtp.mails.filter((m) => m.to.includes(to)).at(-1);
    const text = mail?.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const match = text ? /(http:\/\/[^\s]+\/reset\?token=[A-Za-z0-9_-]+)/.exec(text) : null;
    if (match) return match[1];
    if (Date.now() > deadline) throw new Error(`no reset mail to ${to}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('forgot password: link by e-mail, new password set, old one refused, refusals in plain words', async () => {
  const page = await newPage('reset');
  await page.goto(`${base}/signin`);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.waitForURL(/\/forgot$/);
  assert.deepEqual(await auditPage(page), [], 'the request page passes the accessibility audit');
  await page.getByLabel('E-mail').fill(PATIENT);
  await page.getByRole('button', { name: 'E-mail me a link' }).click();
  await page.getByText('If an account has this e-mail address').waitFor();

  const link = await linkFromMail(PATIENT);
  await page.goto(link.replace(/^http:\/\/[^/]+/, base));
  assert.deepEqual(await auditPage(page), [], 'the reset page passes the accessibility audit');
  await page.getByLabel(/New password/).fill('password123');
  await page.getByRole('button', { name: 'Set new password' }).click();
  const weak = page.getByText('Choose another password');
  await weak.waitFor();
  await page.getByLabel(/New password/).fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('Your password is changed').waitFor();

  const login = (password: string) =>
    fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: PATIENT, password }),
    });
  assert.equal((await login('carequeue-demo')).status, 401, 'the old password no longer works');
  assert.equal((await login(NEW_PASSWORD)).status, 200, 'the new one does');

  await page.goto(link.replace(/^http:\/\/[^/]+/, base));
  await page.getByLabel(/New password/).fill('another fine long phrase');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('This link or code is not valid, was already used or has expired.').waitFor();

  await page.goto(`${base}/reset?phone=%2B8801711000001`);
  await page.getByLabel('6-digit code from the SMS').fill('000000');
  await page.getByLabel(/New password/).fill('yet another long phrase');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('This link or code is not valid').waitFor();
  const text = (await page.locator('main').textContent()) ?? '';
  assert.doesNotMatch(text, /body\.|must match|must NOT/, 'no validator text on the page');
  await page.close();
  assert.deepEqual(watch.errors, [], 'no console errors');
});
