// Events with positional and keyword payloads, and a heartbeat without any (the counterpart
// of examples/wamp/pubsub_complex.rs).
'use strict';

const { main, ready, show, Queue, publishLoop } = require('./common.js');

const HEARTBEAT = 'com.myapp.heartbeat';
const TOPIC = 'com.myapp.topic2';
const INTERVAL_MS = 500;
const EVENTS = 5;

async function backend(session) {
  ready();
  await publishLoop(session, INTERVAL_MS, async (counter) => {
    await session.publish(HEARTBEAT);
    const number = Math.floor(Math.random() * 100);
    await session.publish(TOPIC, [number, 'Hello, world!'], { c: 'Hello', d: { counter, foo: [1, 2, 3] } });
    console.log(`Published heartbeat and event ${counter}`);
  });
}

// `d` as the Rust example prints its `Counter` struct; anything else does not match it.
function counterText(d) {
  const fields = d && typeof d === 'object' ? Object.keys(d).sort().join(',') : '';
  if (fields !== 'counter,foo' || !Number.isInteger(d.counter) || !Array.isArray(d.foo)) {
    throw new Error(`d is not a counter: ${show(d)}`);
  }
  return `Counter { counter: ${d.counter}, foo: ${show(d.foo)} }`;
}

async function frontend(session) {
  const received = new Queue();
  await session.subscribe(HEARTBEAT, (_args, _kwargs, details) =>
    received.push({ heartbeat: details.publication }));
  await session.subscribe(TOPIC, (args, kwargs) => received.push({ args, kwargs }));
  for (let events = 0; events < EVENTS;) {
    const r = await received.next();
    if (r.heartbeat !== undefined) {
      console.log(`Got heartbeat (publication ID ${r.heartbeat})`);
      continue;
    }
    const [a, b] = r.args;
    const { c, d } = r.kwargs;
    console.log(`Got event: ${a} ${show(b)} c=${show(c)} d=${counterText(d)}`);
    events++;
  }
  console.log(`Received ${EVENTS} events, leaving`);
}

main('pubsub_complex.js', { backend, frontend });
