//! The orchestration runtime: a model registry, role routing, providers with typed errors and
//! fallback, fan-out with weighted consensus, a fail-closed budget and cost ledger, persistent
//! threads, pipelines. The CLI (`aiorch ask|consensus|route|stats|pipeline|go`) and the MCP
//! server (`aiorch mcp serve`) are thin layers over this module.

pub mod clink;
pub mod consensus;
pub mod doctor;
pub mod engine;
pub mod go;
pub mod handoff;
pub mod ledger;
pub mod mcp_server;
pub mod memory;
pub mod pipeline;
pub mod provider;
pub mod queue;
pub mod registry;
pub mod report;
pub mod roles;
pub mod router;
pub mod stats;
pub mod summary;
pub mod tasks;
