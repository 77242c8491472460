//! aiorch's one integration-test binary: every test runs the real `aiorch` executable inside a
//! hermetic `TestEnv` (common/): a cleared environment, fake HOME, state and config under a
//! temp dir, a fixed clock (`AIORCH_NOW`), and `bin/` first on PATH for fake client CLIs.
//! Nothing touches the real home, real clients or the network. Every module uses that one
//! `TestEnv`; fixtures shared between modules live in `fixtures/` and are named in common/.
//!
//! A test never passes by skipping: one that needs a system tool asks `common::require_tool`,
//! which fails the test under `CI=true` (naming what to install) and elsewhere prints a loud
//! `SKIP:` line to stderr.
//!
//! One module per area. Snapshots live in `snapshots/` with the temp root shown as `[TEMP]`;
//! after an intended change, review and accept them with `INSTA_UPDATE=always cargo test`
//! (or `cargo insta review`).

mod common;

mod aider;
mod apply;
mod backup_secrets;
mod cli;
mod config_cmd;
mod conflict;
mod doctor;
mod fake_provider;
mod faults;
mod gateway;
mod homes;
mod import;
mod layers;
mod malformed;
mod mcp;
mod merge;
mod models;
mod nix_fixtures;
mod nix_managed;
mod opencode;
mod permissions;
mod policy;
mod recovery;
mod runtime;
mod runtime_faults;
mod runtime_mcp;
mod secrets;
mod services;
mod user_entries;
mod work;
