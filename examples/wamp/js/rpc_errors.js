// Application errors with URIs and payloads (the counterpart of examples/wamp/rpc_errors.rs).
'use strict';

const { autobahn, main, ready, show, value, errorText } = require('./common.js');

const APP_ERROR1 = 'com.myapp.error1';

async function backend(session) {
  await session.register('com.myapp.sqrt', ([x]) => {
    if (x === 0) {
      throw new autobahn.Error('wamp.error.runtime_error', ["don't ask foolish questions ;)"]);
    }
    if (x < 0) {
      throw new autobahn.Error('wamp.error.runtime_error', ['math domain error']);
    }
    return Math.sqrt(x);
  });
  await session.register('com.myapp.checkname', ([name]) => {
    const [lower, upper] = [name.toLowerCase(), name.toUpperCase()];
    if (name === 'foo' || name === 'bar') {
      throw new autobahn.Error('com.myapp.error.reserved');
    }
    if (name !== lower && name !== upper) {
      throw new autobahn.Error('com.myapp.error.mixed_case', [lower, upper]);
    }
    const length = [...name].length;
    if (length < 3 || length > 10) {
      throw new autobahn.Error('com.myapp.error.invalid_length', [], { min: 3, max: 10 });
    }
    return null;
  });
  await session.register('com.myapp.compare', ([a, b]) => {
    if (a < b) {
      throw new autobahn.Error(APP_ERROR1, [b - a]);
    }
    return null;
  });
  console.log('procedures registered');
  ready();
}

// The call's value, or the application error it failed with (anything else is thrown).
async function call(session, procedure, args) {
  try {
    return { ok: value(await session.call(procedure, args)) };
  } catch (e) {
    if (e instanceof autobahn.Error) {
      return { err: e };
    }
    throw e;
  }
}

async function frontend(session) {
  for (const x of [2, 0, -2]) {
    const r = await call(session, 'com.myapp.sqrt', [x]);
    console.log(r.err ? `Error: ${errorText(r.err)}` : `Result: ${show(r.ok)}`);
  }
  for (const name of ['foo', 'a', '*'.repeat(11), 'Hello']) {
    const r = await call(session, 'com.myapp.checkname', [name]);
    console.log(r.err
      ? `Error: ${r.err.error} args=${show(r.err.args)} kwargs=${show(r.err.kwargs)}`
      : `Result: ${show(r.ok)}`);
  }
  const r = await call(session, 'com.myapp.compare', [3, 17]);
  if (r.err && r.err.error === APP_ERROR1 && Number.isInteger(r.err.args[0])) {
    console.log(`Compare Error: AppError1(${r.err.args[0]})`);
  } else {
    console.log(r.err ? `Error: ${errorText(r.err)}` : `Result: ${show(r.ok)}`);
  }
}

main('rpc_errors.js', { backend, frontend });
