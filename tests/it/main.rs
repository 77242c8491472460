
mod mcp;
