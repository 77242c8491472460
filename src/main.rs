//! aiorch: one source of truth for every AI coding assistant on this machine.

mod agents;
mod agentsmd;
mod apply;
mod check;
mod cli;
mod clients;
mod config;
mod doctor;
mod error;
mod import;
mod mcp;
mod modelmap;
mod paths;
mod policy;
mod runtime;
mod secrets;
mod services;
mod sse;
mod ui;

fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`aiorch man | head`), as Unix tools do, instead of panicking.
    // SAFETY: called first thing, before any other thread exists.
    unsafe {
        let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
    }
    cli::main()
}
