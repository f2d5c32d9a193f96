//! The WAMP advanced profile against a real Crossbar.io router, one test per feature,
//! with Autobahn|Python peers (`tests/crossbar/`) as the other side where the feature
//! has two sides (progress, cancel, disclosure, shared registration, black/white-listing,
//! retention, payload transparency, testaments).
//!
//! All tests share one router ([`Crossbar::shared`]) and use unique URIs; every wait is
//! bounded. `tests/wamp_crossbar.rs` covers the basic profile across every transport ×
//! serializer; these run over WebSocket with JSON unless a test says otherwise.
//!
//! | feature | test |
//! |---|---|
//! | progressive call results, stream API (callee side: `wamp_crossbar.rs`) | `rpc::progressive_results_as_a_stream` |
//! | call canceling: skip, kill, killnowait, dropped future | `rpc::cancel_modes` |
//! | INTERRUPT drops the Rust endpoint's future | `rpc::interrupt_cancels_the_rust_handler` |
//! | call timeout (Crossbar.io's seconds), both directions | `rpc::call_timeout_in_crossbar_seconds` |
//! | caller / publisher identification | `rpc::caller_and_publisher_disclosure` |
//! | pattern-based registration and subscription | `rpc::pattern_based_registration_and_subscription` |
//! | progressive call invocations (refused: Crossbar.io lacks them) | `rpc::progressive_call_invocations_need_the_router` |
//! | shared registration: single, roundrobin, first, last, random | `shared::invocation_policies`, `shared::roundrobin_with_a_python_callee` |
//! | `concurrency` | `shared::concurrency_limit` |
//! | `force_reregister`, registration revocation reaching the app | `shared::force_reregister_revokes_the_old_callee` |
//! | subscription revocation (meta API), no restore of revoked ones | `meta::revocation_via_the_meta_api_and_no_restore` |
//! | exclude_me, exclude/eligible (+ authid/authrole), acknowledge | `pubsub::publish_options_black_and_white_lists` |
//! | retain + get_retained | `pubsub::retained_events` |
//! | payload transparency (`enc_*` with Autobahn, `ppt_*`) | `pubsub::payload_transparency_with_autobahn` |
//! | testament | `meta::testament_reaches_a_python_subscriber` |
//! | meta procedures and meta events | `meta::meta_api_calls_and_events` |

#[path = "common_crossbar/mod.rs"]
mod crossbar;

#[allow(dead_code)]
#[path = "wamp_crossbar/support.rs"]
mod support;

#[path = "wamp_crossbar_advanced/common.rs"]
mod common;
#[path = "wamp_crossbar_advanced/meta.rs"]
mod meta;
#[path = "wamp_crossbar_advanced/pubsub.rs"]
mod pubsub;
#[path = "wamp_crossbar_advanced/rpc.rs"]
mod rpc;
#[path = "wamp_crossbar_advanced/shared.rs"]
mod shared;
