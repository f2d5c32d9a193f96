//! Server `Connection` with permessage-deflate negotiated, fed an arbitrary peer byte
//! stream (see `fuzz_support::stream`).
#![no_main]

use autobahn::websocket::protocol::Role;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::stream::run_deflate(Role::Server, data));
