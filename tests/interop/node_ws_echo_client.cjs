// Client on node `ws` that checks an echo server (autobahn-rs' in the tests).
// Connects to --url=URL with --deflate=MODE (see node_common.cjs), prints `EXT <header the server
// answered, or ->`, sends every message of node_common.messages() --rounds times, checks
// each echo's type and bytes, closes with 1000 and prints `OK <count> <close code>`.
// Exits 1 on a mismatch (described on stderr), 2 on any other failure.
'use strict';

const WebSocket = require('ws');
const { MAX_SIZE, messages, deflateOption, args } = require('./node_common.cjs');

const opts = args({ deflate: 'default', rounds: '2' });
setTimeout(() => fail(2, 'timeout'), 240000).unref();

function fail(code, why) {
  console.error(code === 1 ? `MISMATCH ${why}` : `FAILED ${why}`);
  process.exit(code);
}

const ws = new WebSocket(opts.url, { maxPayload: MAX_SIZE, perMessageDeflate: deflateOption(opts.deflate) });
ws.on('upgrade', (res) => console.log(`EXT ${res.headers['sec-websocket-extensions'] || '-'}`));
ws.on('error', (e) => fail(2, e.message));

const list = messages();
const total = list.length * Number(opts.rounds);
let sent = 0;
function sendNext() {
  const [, payload, isBinary] = list[sent % list.length];
  ws.send(payload, { binary: isBinary });
}
ws.on('open', sendNext);
ws.on('message', (data, isBinary) => {
  const [label, payload, wantBinary] = list[sent % list.length];
  const want = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  if (isBinary !== wantBinary) fail(1, `${label}: binary=${isBinary}, want ${wantBinary}`);
  if (!want.equals(data)) fail(1, `${label}: echo differs (sent ${want.length} bytes, got ${data.length})`);
  sent += 1;
  if (sent < total) sendNext();
  else ws.close(1000);
});
ws.on('close', (code) => {
  if (sent !== total) fail(2, `closed with ${code} after ${sent} of ${total} echoes`);
  console.log(`OK ${sent} ${code}`);
  process.exit(0);
});
