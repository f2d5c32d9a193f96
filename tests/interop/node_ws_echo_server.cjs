// Echo server on node `ws`, for the interop tests of autobahn-rs.
// Listens on 127.0.0.1 (a free port) and prints `PORT <n>`; for each connection prints
// `EXT <Sec-WebSocket-Extensions it answered, or ->` and echoes every message with its type.
// Arguments: --deflate=none|default|no-context-takeover|small-windows. Exits when stdin closes.
'use strict';

const { WebSocketServer } = require('ws');
const { MAX_SIZE, deflateOption, args, exitWithParent } = require('./node_common.cjs');

const opts = args({ deflate: 'default' });
exitWithParent(300);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: MAX_SIZE,
  perMessageDeflate: deflateOption(opts.deflate),
});
wss.on('headers', (headers) => {
  const ext = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
  console.log(`EXT ${ext ? ext.slice(ext.indexOf(':') + 1).trim() : '-'}`);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (e) => console.error(`connection error: ${e.message}`));
});
wss.on('listening', () => console.log(`PORT ${wss.address().port}`));
