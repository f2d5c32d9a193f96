// Two calls in flight at once: the quick one returns first (the counterpart of
// examples/wamp/rpc_slowsquare.rs).
'use strict';

const { autobahn, main, ready, show, sleep } = require('./common.js');

const SQUARE = 'com.math.square';
const SLOW_SQUARE = 'com.math.slowsquare';

async function backend(session) {
  await session.register(SQUARE, ([x]) => x * x);
  await session.register(SLOW_SQUARE, async ([x, delay = 1]) => {
    if (!(delay >= 0 && delay <= 60)) {
      throw new autobahn.Error('wamp.error.invalid_argument', ['delay must be between 0 and 60 seconds']);
    }
    await sleep(delay * 1000);
    return x * x;
  });
  console.log(`procedures registered: ${SQUARE}, ${SLOW_SQUARE}`);
  ready();
}

async function frontend(session) {
  const timed = async (procedure, label) => {
    const started = Date.now();
    const r = await session.call(procedure, [3]);
    console.log(`${label}: ${show(r)} in ${Date.now() - started} ms`);
  };
  await Promise.all([timed(SLOW_SQUARE, 'Slow Square'), timed(SQUARE, 'Quick Square')]);
  console.log('All finished.');
}

main('rpc_slowsquare.js', { backend, frontend });
