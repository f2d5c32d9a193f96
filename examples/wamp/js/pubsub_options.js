// Publish options: acknowledged publications, the publisher disclosed, the publisher
// receiving its own events (the counterpart of examples/wamp/pubsub_options.rs).
'use strict';

const { main, ready, show, Queue, publishLoop } = require('./common.js');

const TOPIC = 'com.myapp.topic1';
const INTERVAL_MS = 500;
const EVENTS = 5;

async function backend(session) {
  await session.subscribe(TOPIC, ([value]) => console.log(`Got event: ${show(value)}`));
  ready();
  const options = { acknowledge: true, exclude_me: false, disclose_me: true };
  await publishLoop(session, INTERVAL_MS, async (counter) => {
    const publication = await session.publish(TOPIC, [counter], {}, options);
    console.log(`Event published with publication ID ${publication.id}`);
  });
}

async function frontend(session) {
  const events = new Queue();
  await session.subscribe(TOPIC, (args, _kwargs, details) => events.push({ args, details }));
  for (let i = 0; i < EVENTS; i++) {
    const { args, details } = await events.next();
    if (details.publisher === undefined) {
      throw new Error('an event without the publisher');
    }
    console.log(`Got event, publication ID ${details.publication}, publisher ${details.publisher}: ${show(args[0])}`);
  }
  console.log(`Received ${EVENTS} events, leaving`);
}

main('pubsub_options.js', { backend, frontend });
