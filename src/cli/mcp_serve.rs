//! `aiorch mcp serve` and `aiorch mcp tools`.

use crate::error::Exit;
use crate::paths::Paths;
use crate::ui::Ui;

pub fn serve(paths: &Paths) -> anyhow::Result<Exit> {
    let rt = super::runtime::open(paths)?;
    let cwd = std::env::current_dir()?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let served = tokio.block_on(crate::runtime::mcp_server::serve(rt, cwd));
    // A stdin that is not a pipe is read on a blocking thread that never returns by itself:
    // do not wait for it once the calls are settled.
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    served?;
    Ok(Exit::Ok)
}

pub fn tools(ui: &Ui) -> anyhow::Result<Exit> {
    let listing = crate::runtime::mcp_server::listing_json();
    if ui.json {
        ui.json(&listing);
        return Ok(Exit::Ok);
    }
    for t in listing["tools"].as_array().expect("tools") {
        let bytes = t.to_string().len();
        ui.data(&format!(
            "{:<11} {:>5} B  ~{:>4} tokens  {}",
            t["name"].as_str().unwrap_or(""),
            bytes,
            bytes.div_ceil(4),
            t["description"].as_str().unwrap_or("")
        ));
    }
    let whole = listing.to_string().len();
    ui.data(&format!(
        "\n{} tools, tools/list result {whole} B, ~{} tokens (chars/4; PAL MCP 11.8.2: 45.7 KB, 10.0k cl100k tokens)",
        listing["tools"].as_array().map_or(0, Vec::len),
        whole.div_ceil(4)
    ));
    Ok(Exit::Ok)
}
