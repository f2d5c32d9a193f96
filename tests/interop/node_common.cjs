// Helpers shared by the node interop scripts of autobahn-rs (not a test by itself).
'use strict';

const crypto = require('node:crypto');

// Largest message either side accepts: above the 16 MiB browser test message.
const MAX_SIZE = 64 << 20;

// Sizes where the WebSocket length encoding changes, plus empty, one byte and 1 MiB.
const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const PHRASE = "WAMP call com.example.add2 args=[1, 2] kwargs={'unit': 'cm'}; ";
// Characters of 1 to 4 UTF-8 bytes, so text crosses multi-byte boundaries.
const CHARS = ['a', 'Z', '7', ' ', '\u00e9', '\u03a9', '\u20ac', '\u4e2d', '\u{1f600}', '\u{10348}'];

function compressible(size) {
  return PHRASE.repeat(Math.floor(size / PHRASE.length) + 1).slice(0, size);
}

function randomText(size) {
  let s = '';
  let left = size;
  while (left > 0) {
    let ch = CHARS[crypto.randomInt(CHARS.length)];
    let n = Buffer.byteLength(ch);
    if (n > left) {
      ch = 'x';
      n = 1;
    }
    s += ch;
    left -= n;
  }
  return s;
}

// [label, payload, isBinary]: text payloads are strings, binary ones Buffers.
function messages() {
  const out = [];
  for (const size of SIZES) {
    out.push([`text/random/${size}`, randomText(size), false]);
    out.push([`text/compressible/${size}`, compressible(size), false]);
    out.push([`binary/random/${size}`, crypto.randomBytes(size), true]);
    out.push([`binary/compressible/${size}`, Buffer.from(compressible(size)), true]);
  }
  return out;
}

// The `perMessageDeflate` option of `ws` for a mode given on the command line:
// `none` (no extension), `default` (ws' defaults: context takeover, 15-bit windows),
// `no-context-takeover` (both directions), `small-windows` (10-bit windows both ways).
function deflateOption(mode) {
  switch (mode) {
    case 'none':
      return false;
    case 'default':
      return { threshold: 0 };
    case 'no-context-takeover':
      return { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true };
    case 'small-windows':
      return { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 10 };
    default:
      throw new Error(`unknown deflate mode ${mode}`);
  }
}

// Parses `--name=value` arguments over `defaults`.
function args(defaults) {
  const out = { ...defaults };
  for (const arg of process.argv.slice(2)) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`argument ${arg} is not --name=value`);
    out[m[1]] = m[2];
  }
  return out;
}

// Ends the process when the test that started it closes our stdin, or after `seconds`.
function exitWithParent(seconds) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  setTimeout(() => {
    console.error('timeout reached');
    process.exit(3);
  }, seconds * 1000).unref();
}

module.exports = { MAX_SIZE, messages, deflateOption, args, exitWithParent };
