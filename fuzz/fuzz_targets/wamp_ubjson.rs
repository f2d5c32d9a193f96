//! WAMP UBJSON decoding of an arbitrary transport payload, in both dialects (BJData,
//! the default, and Draft 12), and the round trips of whatever decodes (see
//! `fuzz_support::wamp`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz_support::wamp::run(4, data);
    fuzz_support::wamp::run(fuzz_support::wamp::UBJSON_DRAFT12, data);
});
