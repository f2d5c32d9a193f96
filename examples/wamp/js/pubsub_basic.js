// Publish and subscribe (the counterpart of examples/wamp/pubsub_basic.rs).
'use strict';

const { main, ready, Queue, publishLoop } = require('./common.js');

const TOPIC = 'com.myapp.topic1';
const INTERVAL_MS = 500;
const EVENTS = 5;

async function backend(session) {
  ready();
  await publishLoop(session, INTERVAL_MS, async (counter) => {
    await session.publish(TOPIC, [counter]);
    console.log(`Published event ${counter}`);
  });
}

async function frontend(session) {
  const events = new Queue();
  await session.subscribe(TOPIC, ([counter]) => events.push(counter));
  for (let i = 0; i < EVENTS; i++) {
    const counter = await events.next();
    if (!Number.isInteger(counter)) {
      throw new Error(`not an integer counter: ${counter}`);
    }
    console.log(`Got event: ${counter}`);
  }
  console.log(`Received ${EVENTS} events, leaving`);
}

main('pubsub_basic.js', { backend, frontend });
