//! Where a test finds an example's binary.

use std::path::{Path, PathBuf};

/// `target/<profile>/examples/<name>`, next to the running test's `target/<profile>/deps/`.
/// Fails when it is missing or older than a source it was built from (cargo's dep-info file
/// beside it lists them): a stale example would test old code.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let bin = profile_dir.join("examples").join(name);
    let hint = "run `cargo build --examples --all-features` (same profile and CARGO_TARGET_DIR) \
                first; `cargo test --all-features` builds them too";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("example binary {} is missing: {hint}", bin.display()));
    let dep_info = std::fs::read_to_string(bin.with_extension("d")).unwrap_or_default();
    let sources = dep_info.split_once(": ").map_or("", |(_, deps)| deps);
    let newer = sources.split_whitespace().find(|src| {
        std::fs::metadata(src)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > built)
    });
    if let Some(newer) = newer {
        panic!(
            "example binary {} is older than {newer}: {hint}",
            bin.display()
        );
    }
    bin
}
