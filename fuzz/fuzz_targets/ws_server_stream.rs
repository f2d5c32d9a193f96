//! Server `Connection` fed an arbitrary client byte stream (see `fuzz_support::stream`).
#![no_main]

use autobahn::websocket::protocol::Role;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::stream::run(Role::Server, data));
