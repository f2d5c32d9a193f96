// The time service (the counterpart of examples/wamp/rpc_timeservice.rs).
'use strict';

const { main, ready } = require('./common.js');

const PROCEDURE = 'com.timeservice.now';

async function backend(session) {
  // UTC, to the second: YYYY-MM-DDTHH:MM:SSZ
  await session.register(PROCEDURE, () => new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
  console.log(`procedure registered: ${PROCEDURE}`);
  ready();
}

async function frontend(session) {
  const now = await session.call(PROCEDURE);
  if (typeof now !== 'string') {
    throw new Error(`not a string: ${now}`);
  }
  console.log(`Current time from time service: ${now}`);
}

main('rpc_timeservice.js', { backend, frontend });
