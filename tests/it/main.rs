
mod fake_provider;
mod runtime;
mod runtime_mcp;
