//! Nothing to call: this crate exists for its `Cargo.toml`, which turns on
//! for the `gameday` binary the dependency features the workspace's tests
//! and benchmarks turn on, so one build of each dependency serves both
//! `cargo run --release` and `cargo test --workspace --release`.
