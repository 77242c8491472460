//! aiorch's one integration-test binary: every test runs the real `aiorch` executable inside a
//! hermetic `TestEnv` (fake HOME, state and config, cleared environment, fixed clock).

mod common;

mod apply;
mod cli;
mod config_cmd;
mod conflict;
mod doctor;
mod faults;
mod malformed;
mod merge;
mod nix_fixtures;
