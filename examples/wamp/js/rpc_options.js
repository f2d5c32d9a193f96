// Call and publish options: the caller disclosed to the callee, a publication that excludes
// the caller (the counterpart of examples/wamp/rpc_options.rs).
'use strict';

const { main, ready, show, sleep } = require('./common.js');

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
  const events = [];
  await session.subscribe(TOPIC, ([val]) => {
    console.log(`Someone requested to square non-positive: ${show(val)}`);
    events.push(val);
  });
  for (const val of [2, 0, -2]) {
    const r = await session.call(PROCEDURE, [val], {}, { disclose_me: true });
    console.log(`Squared ${val} = ${show(r)}`);
  }
  // The event about -2 may still be on its way: wait for it, within a limit.
  const deadline = Date.now() + EVENT_WAIT_MS;
  while (events.length === 0 && Date.now() < deadline) {
    await sleep(20);
  }
  if (events.length !== 1 || events[0] !== -2) {
    throw new Error(`unexpected events ${show(events)}`);
  }
}

main('rpc_options.js', { backend, frontend });
