//! WAMP MessagePack decoding of an arbitrary transport payload, and the round trips of
//! whatever decodes (see `fuzz_support::wamp`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_support::wamp::run(2, data));
