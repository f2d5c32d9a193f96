//! What the tests running the WAMP example pairs share: the example processes and the checks
//! of what each pair prints (used by `wamp_examples.rs` and `wamp_examples_js.rs`).
#![allow(dead_code)] // each test binary uses a part

pub mod checks;
pub mod proc;
