// Progressive call results (the counterpart of examples/wamp/rpc_progress.rs).
'use strict';

const { autobahn, main, ready, show, sleep } = require('./common.js');

const PROCEDURE = 'com.myapp.longop';
const STEP_MS = 500;
const MAX_N = 100;

async function backend(session) {
  await session.register(PROCEDURE, async ([n], _kwargs, details) => {
    if (n > MAX_N) {
      throw new autobahn.Error('wamp.error.invalid_argument', [`n must be at most ${MAX_N}`]);
    }
    if (details.progress) {
      for (let i = 0; i < n; i++) {
        details.progress([i]);
        await sleep(STEP_MS);
      }
    } else {
      await sleep(STEP_MS * n);
    }
    return n;
  });
  console.log(`procedure registered: ${PROCEDURE}`);
  ready();
}

// Calls longop(n), printing each progressive result with `progress` and the final one with
// `final`. (With `when` installed, autobahn-js's call promise reports progress through
// the third argument of `then`.)
function longop(session, n, progress, final) {
  return session.call(PROCEDURE, [n], {}, { receive_progress: true }).then(
    (r) => console.log(`${final}: ${show(r)}`),
    (e) => {
      throw e;
    },
    (p) => console.log(`${progress}: ${show(p)}`),
  );
}

async function frontend(session) {
  await longop(session, 3, 'Progress', 'Final');
  await longop(session, 2, 'Stream progress', 'Stream final');
}

main('rpc_progress.js', { backend, frontend });
