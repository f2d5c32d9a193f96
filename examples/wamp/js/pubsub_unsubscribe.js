// Subscribe, unsubscribe, subscribe again (the counterpart of
// examples/wamp/pubsub_unsubscribe.rs).
'use strict';

const { main, ready, show, sleep, Queue, publishLoop } = require('./common.js');

const TOPIC = 'com.myapp.topic1';
const INTERVAL_MS = 500;
const PAUSE_MS = 2000;
const EVENTS_PER_RUN = 5;
const RUNS = 2;

async function backend(session) {
  ready();
  await publishLoop(session, INTERVAL_MS, async (counter) => {
    await session.publish(TOPIC, [counter]);
    console.log(`Published event ${counter}`);
  });
}

async function frontend(session) {
  let received = 0;
  for (let run = 1; run <= RUNS; run++) {
    const events = new Queue();
    const sub = await session.subscribe(TOPIC, ([value]) => {
      console.log(`Got event: ${show(value)}`);
      events.push(value);
    });
    console.log(`Subscribed with subscription ID ${sub.id}`);
    for (let i = 0; i < EVENTS_PER_RUN; i++) {
      await events.next();
    }
    await session.unsubscribe(sub);
    received += EVENTS_PER_RUN;
    if (run < RUNS) {
      console.log(`Unsubscribed .. continue in ${PAUSE_MS / 1000}s ..`);
      await sleep(PAUSE_MS);
    }
  }
  console.log(`Received ${received} events, leaving`);
}

main('pubsub_unsubscribe.js', { backend, frontend });
