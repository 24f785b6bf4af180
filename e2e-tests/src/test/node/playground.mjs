// The playground in a real headless browser (Debian's chromium through playwright-core): submit a prompt,
// see lanes fill, read the final text, then race both modes. Prints one JSON object on stdout.
// Environment: BASE_URL (the gateway, e.g. http://127.0.0.1:8080), API_KEY, PROMPT, SEED, MAX_TOKENS,
// SCREENSHOT (a PNG path), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(process.env.BASE_URL + '/');
  await page.waitForSelector('#key-box:not([hidden])');
  await page.fill('#api-key', process.env.API_KEY);
  // the headless browser now and then leaves a fetch pending that never reached the gateway (its event loops
  // idle, nothing logged): the key is saved again, up to three times, and each retry is reported on stderr
  let loaded = false;
  for (let attempt = 1; attempt <= 3 && !loaded; attempt++) {
    if (attempt > 1) {
      process.stderr.write(`playground: the model did not load within 40 s, saving the key again (${attempt})\n`);
    }
    await page.click('#save-key');
    loaded = await page.waitForFunction(
      () => document.querySelector('#model-info').textContent.includes('context'), null, { timeout: 40000 })
      .then(() => true, () => false);
  }
  if (!loaded) {
    const info = await page.$eval('#model-info', (x) => x.textContent);
    const keyError = await page.$eval('#key-error', (x) => (x.hidden ? '' : x.textContent));
    throw new Error(`the model did not load with the key: model-info '${info}', key error '${keyError}'; `
      + `page errors: ${consoleErrors.join('; ')}`);
  }
  await page.fill('#prompt', process.env.PROMPT);
  await page.fill('#seed', process.env.SEED);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', process.env.MAX_TOKENS);
  await page.selectOption('#mode', 'async');
  // main-thread tasks over 50 ms while the lanes stream (what makes a page stutter)
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push(e.duration)))
      .observe({ type: 'longtask', buffered: false });
  });
  await page.click('#run');
  // at least two lanes with text while it decodes or once it is done
  await page.waitForFunction(() => [...document.querySelectorAll('.lane .text')]
    .filter((t) => t.textContent.trim().length > 0).length >= 2, null, { timeout: 60000 });
  try {
    await page.waitForSelector('.final[data-done="true"]', { timeout: 60000 });
  } catch (e) {
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    const state = await page.$eval('.final', (f) => f.dataset.done);
    const error = await page.$eval('#run-error', (x) => x.textContent);
    throw new Error(`the answer did not finish (done=${state}): '${error}'; page errors: ${consoleErrors.join('; ')}`);
  }
  const lanes = await page.$$eval('.lane', (ls) => ls.map((l) => ({
    span: l.dataset.span, text: l.querySelector('.text').textContent, worker: l.dataset.worker || '',
  })));
  const forkMarks = await page.$$eval('.mark.fork', (ms) => ms.length);
  const finalText = await page.$eval('.final', (f) => f.textContent);
  const stats = await page.$eval('.stats', (s) => s.textContent);
  const longTasks = await page.evaluate(() => window.longTasks);

  // the API's own answer for the same prompt and seed
  const api = await page.evaluate(async ({ key, prompt, seed, maxTokens }) => {
    const r = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key },
      body: JSON.stringify({ model: 'pasta-tiny', messages: [{ role: 'user', content: prompt }], temperature: 0,
        seed: Number(seed), max_tokens: Number(maxTokens) }),
    });
    return (await r.json()).choices[0].message.content;
  }, { key: process.env.API_KEY, prompt: process.env.PROMPT, seed: process.env.SEED,
    maxTokens: process.env.MAX_TOKENS });

  await page.selectOption('#mode', 'race');
  // as above, a lane's fetch may be left pending by the browser: the race is stopped and run again, once
  let raced = false;
  for (let attempt = 1; attempt <= 2 && !raced; attempt++) {
    if (attempt > 1) {
      process.stderr.write('playground: the race did not finish within 60 s, running it again\n');
      await page.click('#stop');
    }
    await page.click('#run');
    raced = await page.waitForSelector('#race-result:not([hidden])', { timeout: 60000 }).then(() => true,
      () => false);
  }
  if (!raced) {
    const error = await page.$eval('#run-error', (x) => x.textContent);
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    throw new Error(`race did not finish, twice within 60 s: '${error}'; page errors: ${consoleErrors.join('; ')}`);
  }
  const race = {
    async: await page.$eval('#race-async', (e) => e.textContent),
    serial: await page.$eval('#race-serial', (e) => e.textContent),
    runs: await page.$$eval('.run', (rs) => rs.length),
    finals: await page.$$eval('.final', (fs) => fs.map((f) => f.textContent)),
  };
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  process.stdout.write(JSON.stringify({ lanes, forkMarks, finalText, stats, api, race, consoleErrors,
    longTasks }));
} finally {
  await browser.close();
}
