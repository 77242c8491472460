//! A tiny stdio MCP server (rmcp) with one tool, `echo(text)` → `$ECHO_PREFIX` + text. The
//! integration tests register it to prove `aiorch doctor`'s handshakes against a real server;
//! it is also handy to try the registry: `cargo build --example mcp-echo`, then
//! `[mcp.servers.echo] command = "…/target/debug/examples/mcp-echo"`.
//! `MCP_ECHO_REQUIRE_CWD=DIR` makes it exit at once unless started in DIR (to test `cwd`).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{ServiceExt, tool, tool_router};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// The text to echo back.
    text: String,
}

#[derive(Debug, Clone)]
struct Echo;

#[tool_router(server_handler)]
impl Echo {
    #[tool(description = "Echo back the given text, after $ECHO_PREFIX")]
    fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        std::env::var("ECHO_PREFIX").unwrap_or_default() + &text
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    if let Ok(want) = std::env::var("MCP_ECHO_REQUIRE_CWD")
        && std::env::current_dir()?.canonicalize()? != std::path::Path::new(&want).canonicalize()?
    {
        anyhow::bail!("started in {} instead of {want}", std::env::current_dir()?.display());
    }
    Echo.serve(rmcp::transport::stdio()).await?.waiting().await?;
    Ok(())
}
