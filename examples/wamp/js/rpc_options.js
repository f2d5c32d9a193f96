// Call and publish options: the caller disclosed to the callee, a publication that excludes
// the caller (the counterpart of examples/wamp/rpc_options.rs).
'use strict';

const { main, ready, show, sleep, Queue } = require('./common.js');

const PROCEDURE = 'com.myapp.square';
const TOPIC = 'com.myapp.square_on_nonpositive';
const EVENT_WAIT_MS = 2000;

async function backend(session) {
  await session.register(PROCEDURE, async ([val], _kwargs, details) => {
    const caller = details.caller;
    console.log(`square called from: ${caller ?? 'an undisclosed caller'}`);
    if (val < 0) {
      await session.publish(TOPIC, [val]);
    } else if (val === 0) {
      await session.publish(TOPIC, [val], {}, caller === undefined ? {} : { exclude: [caller] });
    }
    return val * val;
  });
  console.log(`procedure registered: ${PROCEDURE}`);
  ready();
}

async function frontend(session) {
  const events = new Queue();
  await session.subscribe(TOPIC, ([val]) => {
    console.log(`Someone requested to square non-positive: ${show(val)}`);
    events.push(val);
  });
  for (const val of [2, 0, -2]) {
    const r = await session.call(PROCEDURE, [val], {}, { disclose_me: true });
    console.log(`Squared ${val} = ${show(r)}`);
  }
  // The first event must be the one about -2 (the caller was excluded from the one about 0);
  // it may still be on its way.
  const timeout = sleep(EVENT_WAIT_MS).then(() => 'no event within 2 s');
  const first = await Promise.race([events.next(), timeout]);
  if (first !== -2) {
    throw new Error(`unexpected event ${show(first)}`);
  }
}

main('rpc_options.js', { backend, frontend });
