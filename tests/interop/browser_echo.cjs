// Drives Debian's Chromium (headless, through playwright-core) to echo messages through a
// WebSocket server (autobahn-rs' in the tests). With --page=URL it loads that page (and
// with --ui=1 first uses the page's own echo form: click Send, wait for the echo in its
// log); otherwise a blank page served here on loopback. --insecure=1 accepts any
// certificate (the examples' self-signed ones). The page opens --url=URL, sends text and
// binary messages of 0 B to 16 MiB, checks every echo byte for byte inside the page, closes
// with 1000 and reports one JSON line: {"extensions", "protocol", "echoed", "closeCode",
// "wasClean", "errors"}. Exits 2 on a failure outside the page.
'use strict';

const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const http = require('node:http');
const { chromium } = require('playwright-core');
const { args } = require('./node_common.cjs');

const opts = args({ executable: '/usr/bin/chromium' });

// The page the test runs in, served from loopback: Chromium refuses a public page (or
// about:blank) a connection to a loopback address (Local Network Access).
function servePage() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>autobahn-rs echo test</title>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  // A fresh profile each run; the flags keep Chromium off the (closed) network.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'autobahn-rs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.executable,
    headless: true,
    ignoreHTTPSErrors: opts.insecure === '1',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const pageServer = await servePage();
  try {
    const page = context.pages()[0] || (await context.newPage());
    await page.goto(opts.page || `http://127.0.0.1:${pageServer.address().port}/`);
    let ui = null;
    if (opts.ui === '1') {
      // The page's echo client: connect, send the input's text, see it come back.
      await page.waitForSelector('#send:not([disabled])', { timeout: 30000 });
      await page.click('#send');
      await page.waitForFunction(
        () => document.getElementById('log').textContent.includes('received: Hello, world!'),
        null,
        { timeout: 30000 },
      );
      ui = await page.evaluate(() => document.getElementById('log').textContent);
    }
    const result = await page.evaluate(echoInPage, opts.url);
    result.ui = ui;
    console.log(JSON.stringify(result));
  } finally {
    pageServer.close();
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// Runs inside the page: plain browser JavaScript, nothing from node.
async function echoInPage(url) {
  const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
  const pattern = 'The quick brown fox; Gr\u00fc\u00dfe, \u20ac5, \u4e2d, \u{1f600}. ';
  const text = (n) => {
    // Exactly n UTF-8 bytes: whole patterns (multi-byte characters included), then ASCII.
    const bytes = new TextEncoder().encode(pattern).length;
    const whole = Math.floor(n / bytes);
    return pattern.repeat(whole) + 'x'.repeat(n - whole * bytes);
  };
  const binary = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
    return b;
  };
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const errors = [];
  const inbox = [];
  let waiting = null;
  ws.onmessage = (e) => (waiting ? (waiting(e.data), (waiting = null)) : inbox.push(e.data));
  ws.onerror = () => errors.push('error event');
  const closed = new Promise((resolve) => (ws.onclose = (e) => resolve(e)));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    closed.then((e) => reject(new Error(`closed before open: ${e.code}`)));
  });
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => (waiting = r)));
  let echoed = 0;
  for (const n of sizes) {
    const t = text(n);
    ws.send(t);
    const got = await next();
    if (got !== t) errors.push(`text ${n}: echo differs (${typeof got}, ${got.length ?? got.byteLength})`);
    else echoed += 1;
    const b = binary(n);
    ws.send(b);
    const gb = await next();
    const same = gb instanceof ArrayBuffer && gb.byteLength === n && new Uint8Array(gb).every((x, i) => x === b[i]);
    if (!same) errors.push(`binary ${n}: echo differs`);
    else echoed += 1;
  }
  ws.close(1000, 'done');
  const e = await closed;
  return { extensions: ws.extensions, protocol: ws.protocol, echoed, closeCode: e.code, wasClean: e.wasClean, errors };
}

main().catch((e) => {
  console.error(`FAILED ${e.stack || e}`);
  process.exit(2);
});
