// The whole loop in a real browser: the bank service's development pages in
// Debian's Chromium, driven by playwright-core, checked by axe-core.
//
// Run by scripts/test-browser, which starts `dynpin-bank dev` and passes:
//   DYNPIN_URL          the service (http://127.0.0.1:PORT)
//   DYNPIN_CHROMIUM     the browser executable
//   DYNPIN_PHONE        the `phone` program (crate dynpin-cli)
//   DYNPIN_PHONE_DIR    its vault directory (empty: the first use creates it)
//   DYNPIN_SMS_VALIDITY the service's SMS code validity, in seconds
//   DYNPIN_SCREENSHOTS  where to write the pages' screenshots (PNG)
//
// Each step prints one line; the last line is `browser: N passed, 0 failed`.
// Any failure (an assertion, an accessibility violation, a time-out) exits 1.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/test-browser)`);
  return value;
};
const base = env('DYNPIN_URL');
const phoneProgram = env('DYNPIN_PHONE');
const phoneDir = env('DYNPIN_PHONE_DIR');
const smsValidity = Number(env('DYNPIN_SMS_VALIDITY'));
const shots = env('DYNPIN_SCREENSHOTS');
mkdirSync(shots, { recursive: true });

const PASSWORD = 'browser-loop-7391';
const MELLAT = { number: '6104 3371 8261 1234', cvv2: '123', month: '08', year: '07', last4: '1234' };
const MERCHANT = 'دیجی‌کالا';
const AMOUNT = '1250000';

let passed = 0;
const started = Date.now();
function ok(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const persian = (s) => String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'.charAt(Number(d)));
const arabicIndic = (s) => String(s).replace(/[0-9]/g, (d) => '٠١٢٣٤٥٦٧٨٩'.charAt(Number(d)));
const ascii = (s) =>
  String(s)
    .replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660));

function phone(...args) {
  return execFileSync(phoneProgram, ['--dir', phoneDir, '--password', PASSWORD, '--fast-kdf', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The card's current plain second PIN from `phone codes`, with the seconds it has left. */
function secondPin() {
  const out = phone('codes');
  const m = out.match(new RegExp(`^${MELLAT.last4} second (\\d{8}) \\((\\d+)s\\)`, 'm'));
  assert(m, `phone codes shows the second PIN: ${out}`);
  return { pin: m[1], left: Number(m[2]) };
}

/** A second PIN with at least `margin` seconds left (waits for the next one otherwise). */
async function freshSecondPin(margin = 8) {
  let p = secondPin();
  if (p.left < margin) {
    await sleep((p.left + 1) * 1000);
    p = secondPin();
  }
  return p.pin;
}

/** Fails on any axe-core violation (every rule axe runs by default: labels, contrast, order…). */
async function accessible(page, name) {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  if (violations.length > 0) {
    throw new Error(`${name}: accessibility violations:\n${JSON.stringify(violations, null, 2)}`);
  }
}

async function screenshot(page, file) {
  await page.screenshot({ path: join(shots, file), fullPage: true });
}

async function result(page) {
  const box = page.locator('[data-result]').first();
  return { kind: await box.getAttribute('data-result'), text: (await box.innerText()).trim() };
}

/** The newest message in the development SMS inbox (the HTML page). */
async function newestSms(context) {
  const page = await context.newPage();
  await page.goto(`${base}/dev/inbox`);
  const text = await page.locator('.sms .text').first().innerText();
  await page.close();
  return text;
}

/** The digits after `label` in an SMS (any digit script), as ASCII. */
function codeIn(sms, label) {
  const m = sms.match(new RegExp(`${label}\\s*([0-9۰-۹٠-٩ ]+)`));
  assert(m, `the SMS holds "${label}": ${sms}`);
  return ascii(m[1]).replace(/ /g, '');
}

async function fillCard(page, { cvv2 = true } = {}) {
  await page.fill('#card', MELLAT.number);
  if (cvv2) await page.fill('#cvv2', MELLAT.cvv2);
  await page.fill('#exp_month', MELLAT.month);
  await page.fill('#exp_year', MELLAT.year);
  await page.fill('#amount', AMOUNT);
  await page.fill('#merchant', MERCHANT);
}

async function pay(page, pin) {
  await page.fill('#cvv2', MELLAT.cvv2);
  await page.fill('#pin', pin);
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  return result(page);
}

const browser = await chromium.launch({
  executablePath: env('DYNPIN_CHROMIUM'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 30_000,
});
try {
  const context = await browser.newContext({ viewport: { width: 960, height: 760 }, locale: 'fa-IR' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();

  // ---- internet banking: activation -----------------------------------------
  await page.goto(`${base}/bank/activate`);
  assert((await page.getAttribute('html', 'lang')) === 'fa', 'the page is Persian');
  assert((await page.getAttribute('html', 'dir')) === 'rtl', 'the page is right to left');
  assert((await page.innerText('main')).includes('۶۱۰۴-۳۳**-****-۱۲۳۴'), 'card numbers are masked, in Persian digits');
  assert((await page.innerText('main')).includes('۰۹۱۲***۴۵۶۷'), 'the registered mobile is masked');
  await accessible(page, 'activation: the cards');
  await screenshot(page, 'activate-cards.png');
  ok('internet banking lists the demo cards, masked, right to left, accessible');

  await page.check('#card-0');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert(await page.locator('.qr svg[role=img]').isVisible(), 'the QR code is shown');
  const payload = await page.inputValue('#payload');
  assert(payload.startsWith('DPIN:'), `the payload text: ${payload}`);
  assert(await page.locator('#copy').isVisible(), 'the script shows the copy button');
  assert((await page.getAttribute('[data-sent-to]', 'data-sent-to')) === '0912***4567', 'the SMS went to the masked number');
  await accessible(page, 'activation: the QR code');
  await screenshot(page, 'activate-qr.png');
  ok('the QR code, the payload and the SMS note');

  const activationSms = await newestSms(context);
  const activationCode = codeIn(activationSms, 'Activation code:');
  assert(activationCode.length === 16, `the activation code from the inbox: ${activationCode}`);
  const activated = phone('activate', payload, activationCode);
  const confirmation = activated.match(/confirmation code: ([0-9 ]+)/);
  assert(confirmation, `phone activate prints the confirmation code: ${activated}`);
  ok('the phone program activated the card from the payload and the code in the SMS inbox');

  // A wrong confirmation code first: attempts left.
  await page.fill('#code', '000000' === confirmation[1].replace(/ /g, '') ? '111111' : '000000');
  await Promise.all([page.waitForNavigation(), page.press('#code', 'Enter')]);
  let r = await result(page);
  assert(r.kind === 'wrong' && r.text.includes('۴'), `a wrong confirmation code: ${JSON.stringify(r)}`);
  // The code typed in Persian digits.
  await page.fill('#code', persian(confirmation[1]));
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  r = await result(page);
  assert(r.kind === 'confirmed', `confirmed: ${JSON.stringify(r)}`);
  await accessible(page, 'activation: confirmed');
  await screenshot(page, 'activate-confirmed.png');
  ok('a wrong confirmation code leaves 4 attempts; the right one (Persian digits) activates');

  await page.goto(`${base}/bank/activate?lang=en`);
  assert((await page.getAttribute('html', 'lang')) === 'en', 'the English page');
  assert((await page.getAttribute('html', 'dir')) === 'ltr', 'English is left to right');
  assert((await page.innerText('main')).includes('dynamic PIN: active'), 'the card is active');
  assert((await page.innerText('main')).includes('6104-33**-****-1234'), 'ASCII digits in English');
  await accessible(page, 'activation in English');
  await screenshot(page, 'activate-en.png');
  await page.click('a[hreflang=fa]');
  assert((await page.getAttribute('html', 'dir')) === 'rtl', 'the toggle goes back to Persian');
  ok('the English toggle renders left to right and back');

  // ---- the payment gateway ---------------------------------------------------
  await page.goto(`${base}/pay`);
  await accessible(page, 'the payment form');
  // Keyboard order: the fields in reading order, then the SMS button, then Pay.
  await page.focus('#amount');
  const order = ['#amount'];
  for (let i = 0; i < 8; i += 1) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => `#${document.activeElement.id}`));
  }
  const expected = ['#amount', '#merchant', '#card', '#cvv2', '#exp_month', '#exp_year', '#pin', '#request-sms', '#pay'];
  assert(JSON.stringify(order) === JSON.stringify(expected), `keyboard order: ${order.join(' ')}`);
  await fillCard(page);
  await screenshot(page, 'pay.png');
  ok('the payment form is accessible and in keyboard order');

  const plain = await freshSecondPin();
  r = await pay(page, plain);
  assert(r.kind === 'paid', `paid with the second PIN: ${JSON.stringify(r)}`);
  assert((await page.innerText('main')).includes('رمز دوم پویای برنامه'), 'paid with the app’s second PIN');
  await accessible(page, 'paid');
  await screenshot(page, 'pay-paid.png');
  ok('paid with the app’s second PIN (ASCII digits)');

  // The same PIN again, with JavaScript off: the form posts, the server renders the result.
  const noScript = await browser.newContext({ javaScriptEnabled: false, locale: 'fa-IR' });
  noScript.setDefaultTimeout(15_000);
  const plainPage = await noScript.newPage();
  await plainPage.goto(`${base}/pay`);
  await fillCard(plainPage);
  await plainPage.fill('#pin', plain);
  // Enter in the PIN field pays (the form's default button), not "request a code".
  await Promise.all([plainPage.waitForNavigation(), plainPage.press('#pin', 'Enter')]);
  r = await result(plainPage);
  assert(r.kind === 'already_used', `the same PIN again: ${JSON.stringify(r)}`);
  await screenshot(plainPage, 'pay-already-used.png');
  await noScript.close();
  ok('the same PIN again is "already used" (JavaScript off, Enter submits the payment)');

  // The amount-bound PIN for this amount and merchant, typed in Arabic-Indic digits.
  const amountOut = phone('amount', MELLAT.last4, AMOUNT, MERCHANT);
  const bound = amountOut.match(/ amount-bound (\d{8}) /);
  assert(bound, `phone amount prints the amount-bound PIN: ${amountOut}`);
  await page.goto(`${base}/pay`);
  await fillCard(page);
  r = await pay(page, arabicIndic(bound[1]));
  assert(r.kind === 'paid', `paid with the amount-bound PIN: ${JSON.stringify(r)}`);
  assert((await page.innerText('main')).includes('رمز پویای مخصوص این مبلغ و پذیرنده'), 'paid with the amount-bound PIN');
  ok('paid with the amount-bound PIN (Arabic-Indic digits)');

  // ---- the Harim SMS code: countdown, a wrong entry, paying with it ---------------
  // The browser's fake clock is installed per context: these pages get their own.
  const clockContext = await browser.newContext({ viewport: { width: 960, height: 760 }, locale: 'fa-IR' });
  clockContext.setDefaultTimeout(15_000);
  const smsPage = await clockContext.newPage();
  await smsPage.clock.install();
  await smsPage.goto(`${base}/pay`);
  await fillCard(smsPage, { cvv2: false });
  await Promise.all([smsPage.waitForNavigation(), smsPage.click('#request-sms')]);
  assert((await result(smsPage)).kind === 'sms_sent', 'the code was sent');
  const button = smsPage.locator('#request-sms');
  assert(await button.isDisabled(), 'the button waits while the code is valid');
  const countdown = await button.innerText();
  assert(/[۰-۹]+ ثانیه/.test(countdown), `a countdown in Persian digits: ${countdown}`);
  const left = Number(ascii(countdown.match(/[۰-۹]+/)[0]));
  assert(left > 0 && left <= smsValidity, `the countdown starts at the server's expiry: ${left} of ${smsValidity}`);
  await accessible(smsPage, 'the countdown');
  await screenshot(smsPage, 'pay-countdown.png');
  let sms = await newestSms(context);
  let smsCode = codeIn(sms, 'رمز پویا:');
  assert(smsCode.length === 6, `a 6-digit SMS code: ${smsCode}`);
  const wrongSms = smsCode === '000000' ? '111111' : '000000';
  r = await pay(smsPage, wrongSms);
  assert(r.kind === 'wrong' && r.text.includes('۲'), `a wrong SMS code leaves 2 attempts: ${JSON.stringify(r)}`);
  r = await pay(smsPage, persian(smsCode));
  assert(r.kind === 'paid', `paid with the SMS code: ${JSON.stringify(r)}`);
  assert((await smsPage.innerText('main')).includes('رمز پیامکی'), 'paid with the SMS code');
  ok('an SMS code: a countdown in Persian digits; a wrong entry counts once; paid with it (Persian digits)');

  // ---- expiry: the browser's clock runs the countdown out; the server refuses ------
  await smsPage.close();
  const expiryPage = await clockContext.newPage();
  await expiryPage.clock.install();
  await expiryPage.goto(`${base}/pay`);
  await fillCard(expiryPage, { cvv2: false });
  await Promise.all([expiryPage.waitForNavigation(), expiryPage.click('#request-sms')]);
  const expiresAt = Number(await expiryPage.getAttribute('[data-expires-at]', 'data-expires-at'));
  const expiryButton = expiryPage.locator('#request-sms');
  assert(await expiryButton.isDisabled(), 'the countdown runs');
  await expiryPage.clock.fastForward((smsValidity + 1) * 1000);
  await expiryPage.waitForFunction(() => !document.getElementById('request-sms').disabled, null, { timeout: 5_000 });
  assert((await expiryButton.innerText()).trim() === 'درخواست رمز پویا', 'the button is back');
  ok('the countdown ran out on the browser’s fake clock and the button is enabled again');
  sms = await newestSms(context);
  smsCode = codeIn(sms, 'رمز پویا:');
  // The server decides expiry by the store's clock: wait for it (a short validity in this test).
  const wait = expiresAt * 1000 + 1500 - Date.now();
  if (wait > 0) await sleep(wait);
  r = await pay(expiryPage, smsCode);
  assert(r.kind === 'expired', `the expired SMS code is refused: ${JSON.stringify(r)}`);
  await screenshot(expiryPage, 'pay-expired.png');
  await clockContext.close();
  ok('the server refuses the expired SMS code');

  // ---- a typing slip is not counted; a wrong PIN ten times locks ---------------
  await page.goto(`${base}/pay`);
  await fillCard(page);
  r = await pay(page, '12345');
  assert(r.kind === 'invalid', `five digits are a typing slip: ${JSON.stringify(r)}`);
  const current = secondPin().pin;
  const wrong = current === '00000000' ? '11111111' : '00000000';
  for (let i = 1; i <= 10; i += 1) {
    r = await pay(page, wrong);
    if (i < 10) {
      assert(r.kind === 'wrong', `wrong PIN #${i}: ${JSON.stringify(r)}`);
      assert(r.text.includes(persian(10 - i)), `wrong PIN #${i} leaves ${10 - i}: ${r.text}`);
    } else {
      assert(r.kind === 'locked', `the tenth wrong PIN locks: ${JSON.stringify(r)}`);
    }
  }
  await accessible(page, 'locked');
  await screenshot(page, 'pay-locked.png');
  r = await pay(page, await freshSecondPin());
  assert(r.kind === 'locked', `locked even for the right PIN: ${JSON.stringify(r)}`);
  ok('a wrong PIN counts once per entry; the tenth locks the card, even for the right PIN');

  // ---- the English gateway and the inbox -----------------------------------------
  await page.goto(`${base}/pay?lang=en`);
  assert((await page.getAttribute('html', 'dir')) === 'ltr', 'English gateway');
  await accessible(page, 'the payment form in English');
  await screenshot(page, 'pay-en.png');
  await page.goto(`${base}/dev/inbox`);
  const messages = await page.locator('.sms').count();
  assert(messages === 3, `three messages in the inbox (activation, two codes): ${messages}`);
  assert((await page.locator('.sms .text').first().innerText()) === sms, 'the newest message first');
  await accessible(page, 'the SMS inbox');
  await screenshot(page, 'inbox.png');
  ok('the English gateway and the development SMS inbox (newest first) are accessible');
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, 0 failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
