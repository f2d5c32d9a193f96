// What the JavaScript WAMP example pairs share (the counterpart of examples/wamp/common.rs):
// the command line, the serializers, printing values the way the Rust examples do, and
// running one role until it is done.
//
//   node <pair>.js backend  [URL] [REALM] [--serializer LIST]   # runs until killed
//   node <pair>.js frontend [URL] [REALM] [--serializer LIST]   # does its work, leaves, exits 0
//
// URL defaults to ws://127.0.0.1:8080/ws (WebSocket only), REALM to realm1, LIST to
// json,msgpack,cbor (comma-separated, preferred first). Needs Node.js >= 22 and the npm
// package `autobahn` (26.x) resolvable, e.g. with NODE_PATH=<dir>/node_modules.
'use strict';

const autobahn = require('autobahn');

const DEFAULT_URL = 'ws://127.0.0.1:8080/ws';
const DEFAULT_REALM = 'realm1';
// A frontend that is not done by then gives up (exit status 1), as the Rust frontends do.
const FRONTEND_LIMIT_MS = 60000;
// The line every backend prints once it has registered / subscribed / started publishing.
const READY = 'backend ready';

function parseArgs(argv) {
  const positional = [];
  let serializers = ['json', 'msgpack', 'cbor'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    let [option, value] = arg.slice(2).split(/=(.*)/s);
    if (value === undefined) {
      value = argv[++i];
    }
    if (option !== 'serializer' || value === undefined) {
      throw new Error(`unknown option or missing value: ${arg}`);
    }
    serializers = value.split(',').map((s) => s.trim());
    for (const s of serializers) {
      if (!['json', 'msgpack', 'cbor'].includes(s)) {
        throw new Error(`unknown serializer ${JSON.stringify(s)} (json, msgpack or cbor)`);
      }
    }
  }
  const [role, url = DEFAULT_URL, realm = DEFAULT_REALM, extra] = positional;
  if (role !== 'backend' && role !== 'frontend') {
    throw new Error(role === undefined ? 'missing role' : `unknown role ${JSON.stringify(role)}`);
  }
  if (extra !== undefined) {
    throw new Error(`unexpected argument ${JSON.stringify(extra)}`);
  }
  if (!/^wss?:\/\//.test(url)) {
    throw new Error(`${url}: the JavaScript examples speak WebSocket only (ws:// or wss://)`);
  }
  return { role, url, realm, serializers };
}

// JSON with the WAMP convention for binary: bytes travel as "\0" + base64. autobahn-js 26's
// JSONSerializer does not do this by itself (a Uint8Array would become {"0": .., "1": ..}
// and a Buffer {"type": "Buffer", "data": [..]}), but takes a replacer and a reviver.
function binaryReplacer(key, value) {
  const original = this[key]; // before Buffer.prototype.toJSON
  if (original instanceof Uint8Array) {
    return '\0' + Buffer.from(original.buffer, original.byteOffset, original.length).toString('base64');
  }
  return value;
}

function binaryReviver(_key, value) {
  if (typeof value === 'string' && value.startsWith('\0')) {
    return new Uint8Array(Buffer.from(value.slice(1), 'base64'));
  }
  return value;
}

function serializer(name) {
  switch (name) {
    case 'json':
      return new autobahn.serializer.JSONSerializer(binaryReplacer, binaryReviver);
    case 'msgpack':
      return new autobahn.serializer.MsgpackSerializer();
    case 'cbor':
      return new autobahn.serializer.CBORSerializer();
  }
  throw new Error(`unknown serializer ${name}`);
}

// A value as the Rust examples print it with `{:?}` (autobahn::wamp::Value's Debug).
function show(v) {
  if (v === null || v === undefined) {
    return 'Null';
  }
  if (typeof v === 'string') {
    return JSON.stringify(v);
  }
  if (typeof v === 'number') {
    // JavaScript's shortest round-trip digits, as Rust's `{:?}` of an f64 (an integral
    // float prints without `.0`: JavaScript cannot tell 3.0 from 3).
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') {
    return String(v);
  }
  if (v instanceof Uint8Array) {
    return 'b"' + Array.from(v, (b) => '\\x' + b.toString(16).padStart(2, '0')).join('') + '"';
  }
  if (Array.isArray(v)) {
    return '[' + v.map(show).join(', ') + ']';
  }
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => `${JSON.stringify(k)}: ${show(v[k])}`).join(', ') + '}';
}

// What a call returned, as `CallResult::value()` in Rust: nothing -> null, one positional
// result -> it, only keyword results -> them, else the positional list.
function value(result) {
  if (result instanceof autobahn.Result) {
    const hasKwargs = Object.keys(result.kwargs || {}).length > 0;
    if (result.args.length === 0 && hasKwargs) {
      return result.kwargs;
    }
    return result.args.length === 1 && !hasKwargs ? result.args[0] : result.args;
  }
  return result === undefined ? null : result;
}

// An application error as Rust's ApplicationError Display: `uri` or `uri: message`.
function errorText(e) {
  if (!(e instanceof autobahn.Error)) {
    return String(e);
  }
  const message = typeof e.args[0] === 'string' ? `: ${e.args[0]}` : '';
  return e.error + message;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Events from a subscription handler, awaited one at a time by the frontend.
class Queue {
  constructor() {
    this.items = [];
    this.waiting = [];
  }
  push(item) {
    const waiter = this.waiting.shift();
    if (waiter) {
      waiter(item);
    } else {
      this.items.push(item);
    }
  }
  next() {
    return this.items.length > 0
      ? Promise.resolve(this.items.shift())
      : new Promise((resolve) => this.waiting.push(resolve));
  }
}

// Publishes with `publish(counter)` every `intervalMs` while the session is open.
async function publishLoop(session, intervalMs, publish) {
  for (let counter = 0; session.isOpen; counter++) {
    await publish(counter);
    await sleep(intervalMs);
  }
}

function ready() {
  console.log(READY);
}

// Parses the command line and runs `backend(session)` (on every join; it runs until killed)
// or `frontend(session)` (once: exit 0 if it resolves, 1 if it throws or the limit passes).
function main(name, { backend, frontend }) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    console.error(`usage: ${name} backend|frontend [URL] [REALM] [--serializer LIST]`);
    console.error(`  URL defaults to ${DEFAULT_URL}, REALM to ${DEFAULT_REALM}`);
    console.error('  --serializer LIST  json, msgpack, cbor, comma-separated, preferred first');
    process.exit(2);
  }
  const isFrontend = args.role === 'frontend';
  const connection = new autobahn.Connection({
    url: args.url,
    realm: args.realm,
    serializers: args.serializers.map(serializer),
    // A frontend connects once; a backend keeps reconnecting, as the Rust backends do.
    max_retries: isFrontend ? 0 : -1,
    retry_if_unreachable: !isFrontend,
  });
  let exitCode = 1;
  let joined = false;
  connection.onopen = (session) => {
    joined = true;
    // On stderr, for the tests: the serializer the router chose.
    console.error(`${name} ${args.role}: joined, subprotocol=${connection.transport.info.protocol}`);
    if (!isFrontend) {
      Promise.resolve(backend(session)).catch((e) => {
        console.error(`${name} backend: ${errorText(e)}`);
        connection.close();
      });
      return;
    }
    const limit = setTimeout(() => {
      console.error(`${name} frontend: not done after ${FRONTEND_LIMIT_MS} ms (is the backend running?)`);
      process.exit(1);
    }, FRONTEND_LIMIT_MS);
    Promise.resolve()
      .then(() => frontend(session))
      .then(
        () => {
          exitCode = 0;
        },
        (e) => console.error(`${name} frontend: ${errorText(e)}`),
      )
      .finally(() => {
        clearTimeout(limit);
        connection.close();
      });
  };
  connection.onclose = (reason, details) => {
    if (isFrontend) {
      if (reason !== 'closed') {
        console.error(`${name} frontend: connection ${reason} (${JSON.stringify(details)})`);
      }
      process.exit(exitCode);
    }
    return false; // a backend reconnects
  };
  // Node.js 22's WebSocket reports a failed connection attempt with an `error` event only,
  // so autobahn-js never calls `onclose` then: the event loop just runs empty. (So does a
  // backend's after it failed and closed its connection.)
  process.on('beforeExit', () => {
    const what = joined ? 'the connection is closed' : `could not connect to ${args.url}`;
    console.error(`${name} ${args.role}: ${what}`);
    process.exit(1);
  });
  connection.open();
}

module.exports = { autobahn, main, ready, show, value, errorText, sleep, Queue, publishLoop, serializer };
