// Complex results: keyword results and several positional results (the counterpart of
// examples/wamp/rpc_complex.rs).
'use strict';

const { autobahn, main, ready, value } = require('./common.js');

async function backend(session) {
  await session.register('com.myapp.add_complex', ([a, ai, b, bi]) =>
    new autobahn.Result([], { c: a + b, ci: ai + bi }));
  await session.register('com.myapp.split_name', ([fullname]) => {
    const space = fullname.indexOf(' ');
    const parts = space < 0 ? [fullname, ''] : [fullname.slice(0, space), fullname.slice(space + 1)];
    return new autobahn.Result(parts);
  });
  console.log('procedures registered');
  ready();
}

async function frontend(session) {
  const sum = value(await session.call('com.myapp.add_complex', [2, 3, 4, 5]));
  console.log(`Result: ${sum.c} + ${sum.ci}i`);
  const [forename, surname] = value(await session.call('com.myapp.split_name', ['Homer Simpson']));
  console.log(`Forename: ${forename}, Surname: ${surname}`);
}

main('rpc_complex.js', { backend, frontend });
