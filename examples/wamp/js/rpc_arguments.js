// Positional and keyword arguments (the counterpart of examples/wamp/rpc_arguments.rs).
'use strict';

const { autobahn, main, ready, show, value } = require('./common.js');

async function backend(session) {
  await session.register('com.arguments.ping', () => null);
  await session.register('com.arguments.add2', ([a, b]) => a + b);
  await session.register('com.arguments.stars', (_args, { nick = 'somebody', stars = 0 } = {}) =>
    `${nick} starred ${stars}x`);
  await session.register('com.arguments.orders', ([_product, limit], kwargs = {}) => {
    const n = limit ?? kwargs.limit ?? 5;
    return Array.from({ length: 50 }, (_, i) => `Product ${i}`).slice(0, n);
  });
  await session.register('com.arguments.arglen', (args = [], kwargs = {}) =>
    [args.length, Object.keys(kwargs).length]);
  console.log('procedures registered');
  ready();
}

// Strings as they are, anything else as the Rust example's `{:?}`.
const text = (v) => (typeof v === 'string' ? v : show(v));

async function frontend(session) {
  const call = async (procedure, args, kwargs) => value(await session.call(procedure, args, kwargs));
  await call('com.arguments.ping', [], {});
  console.log('Pinged!');
  console.log(`Add2: ${text(await call('com.arguments.add2', [2, 3], {}))}`);
  const starred = [{}, { nick: 'Homer' }, { stars: 5 }, { nick: 'Homer', stars: 5 }];
  for (const [i, kwargs] of starred.entries()) {
    console.log(`Starred ${i + 1}: ${text(await call('com.arguments.stars', [], kwargs))}`);
  }
  console.log(`Orders 1: ${text(await call('com.arguments.orders', ['coffee'], {}))}`);
  console.log(`Orders 2: ${text(await call('com.arguments.orders', ['coffee'], { limit: 10 }))}`);
  const abc = { a: 1, b: 2, c: 3 };
  const arglens = [[[], {}], [[1, 2, 3], {}], [[], abc], [[1, 2, 3], abc]];
  for (const [i, [args, kwargs]] of arglens.entries()) {
    console.log(`Arglen ${i + 1}: ${text(await call('com.arguments.arglen', args, kwargs))}`);
  }
}

main('rpc_arguments.js', { backend, frontend });
