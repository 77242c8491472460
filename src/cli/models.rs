//! `aiorch models update`: refresh the model map (prices, windows, retirement dates) in the
//! state dir from LiteLLM's file or URL, and say what changed for the models aiorch routes to.

use std::time::Duration;

use crate::error::{CliError, Exit};
use crate::modelmap::{self, ModelMap};
use crate::paths::Paths;
use crate::runtime::registry::Registry;
use crate::ui::Ui;

/// Where LiteLLM itself fetches its map from (the main branch of its repository).
pub const DEFAULT_URL: &str =
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

pub fn update(ui: &Ui, paths: &Paths, from: Option<&str>) -> anyhow::Result<Exit> {
    let cfg = crate::config::load(&paths.config_file, paths.config_explicit)?;
    let from = from.unwrap_or(DEFAULT_URL);
    let (text, version) = if from.starts_with("http://") || from.starts_with("https://") {
        (super::runtime::block_on(fetch(from))?, None)
    } else {
        let path = crate::paths::expand_tilde(from, &paths.home);
        let text = fs_err::read_to_string(&path).map_err(|e| {
            CliError::bad_input(format!("cannot read the model map {}: {e}", path.display()))
                .hint("pass LiteLLM's model_prices_and_context_window.json (a file or an http(s) URL)")
        })?;
        (text, modelmap::install_version(&path))
    };
    let new = ModelMap::import(&text, from, version, &modelmap::today_str()).map_err(|e| {
        CliError::bad_input(format!("{from}: {e}")).hint("LiteLLM's map is model_prices_and_context_window.json")
    })?;
    let old = ModelMap::load(&paths.state_dir);
    let embedded = ModelMap::embedded();

    let before = Registry::load(&cfg, &old)?;
    let file = new.save(&paths.state_dir)?;
    let in_use = ModelMap::load(&paths.state_dir);
    let after = Registry::load(&cfg, &in_use)?;

    let mut changes = vec![];
    for m in &after.models {
        let Some(b) = before.get(&m.id) else { continue };
        if (b.price_in, b.price_out, b.price_known) != (m.price_in, m.price_out, m.price_known)
            && !(b.price_in.is_nan() && m.price_in.is_nan())
        {
            let was = if b.price_known { format!("{:.2}/{:.2}", b.price_in, b.price_out) } else { "unknown".into() };
            let now = if m.price_known { format!("{:.2}/{:.2}", m.price_in, m.price_out) } else { "unknown".into() };
            changes.push(format!("{}: $/Mtok {was} → {now}", m.id));
        }
        if let Some(r) = m.retirement.as_ref().filter(|r| r.is_due())
            && b.retirement.as_ref() != Some(r)
        {
            changes.push(format!("{}: {}", m.id, r.describe()));
        }
    }
    let used = in_use.origin != modelmap::Origin::Embedded;
    if ui.json {
        ui.json(&serde_json::json!({
            "path": file, "from": from, "models": new.entries.len(), "litellm_version": new.meta.litellm_version,
            "date": new.meta.date, "in_use": used, "changes": changes,
        }));
    } else {
        ui.out(&format!("wrote {} ({} chat models from {from})", paths.display(&file), new.entries.len()));
        if !used {
            ui.note(&format!("it is older than the built-in {}, which stays in use", embedded.label()));
        }
        if changes.is_empty() {
            ui.out("no change for the models in the registry");
        }
        for c in &changes {
            ui.out(&format!("  {c}"));
        }
    }
    Ok(Exit::Ok)
}

async fn fetch(url: &str) -> anyhow::Result<String> {
    let failed = |e: String| {
        CliError::failed(format!("cannot fetch the model map from {url}: {e}"))
            .hint("check the network, or download it and pass the file: aiorch models update --from FILE")
    };
    let resp = crate::runtime::provider::http()
        .get(url)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(failed(format!("HTTP {}", resp.status())).into());
    }
    Ok(resp.text().await.map_err(|e| failed(e.to_string()))?)
}
