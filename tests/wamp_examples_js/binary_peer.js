// A callee for the binary-in-JSON test (wamp_examples_js.rs): what autobahn-js 26 does with
// bytes, with its own serializers ("stock") and with those of examples/wamp/js ("examples").
//
//   node binary_peer.js URL REALM SERIALIZER stock|examples PREFIX
//
// Registers PREFIX.echo (returns its argument and what JavaScript made of it) and
// PREFIX.bytes (returns a Uint8Array made in JavaScript), then prints "ready".
'use strict';

const path = require('path');
const common = require(path.join(__dirname, '../../examples/wamp/js/common.js'));
const { autobahn } = common;

const [url, realm, name, mode, prefix] = process.argv.slice(2);
const stock = {
  json: () => new autobahn.serializer.JSONSerializer(),
  msgpack: () => new autobahn.serializer.MsgpackSerializer(),
  cbor: () => new autobahn.serializer.CBORSerializer(),
};
const serializer = mode === 'stock' ? stock[name]() : common.serializer(name);

// What a received value is, for the Rust side to check.
function describe(v) {
  if (v instanceof Uint8Array) {
    return 'bytes ' + Buffer.from(v).toString('hex');
  }
  return `${typeof v} ${JSON.stringify(v)}`;
}

const connection = new autobahn.Connection({ url, realm, serializers: [serializer], max_retries: 0 });
connection.onopen = async (session) => {
  await session.register(`${prefix}.echo`, ([v]) => new autobahn.Result([v, describe(v)]));
  await session.register(`${prefix}.bytes`, () => new Uint8Array([0, 1, 127, 128, 255]));
  console.log('ready');
};
connection.onclose = (reason) => {
  console.error(`binary_peer: connection ${reason}`);
  process.exit(1);
};
// Node.js 22 reports a failed connection attempt without `onclose` (see common.js).
process.on('beforeExit', () => {
  console.error(`binary_peer: could not connect to ${url}`);
  process.exit(1);
});
connection.open();
