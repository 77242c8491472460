//! LiteLLM's model map: the prices, context windows and retirement dates aiorch routes and
//! budgets with, and the gateway's rendered config prices with (one source for both).
//!
//! A snapshot is embedded at build time (`data/litellm/model_map.json`, refreshed by
//! `scripts/update-model-map.sh`; LiteLLM is MIT licensed, `data/litellm/LICENSE`). A newer copy
//! in the state dir wins: `aiorch models update` writes it, and `aiorch services up` imports the
//! map of the LiteLLM it runs when that one is newer. Only chat models of the providers aiorch
//! calls directly are kept, and of each only the fields read here: the embedded subset is 36 KB
//! and parses in well under a millisecond, where the whole map (3 MB) would cost every runtime
//! start a few milliseconds for entries no code path reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

const SNAPSHOT: &str = include_str!("../data/litellm/model_map.json");

/// LiteLLM providers whose chat models are kept: the ones aiorch calls directly.
pub const PROVIDERS: [&str; 3] = ["anthropic", "openai", "gemini"];

/// A model retiring within this many days is worth a warning.
pub const RETIRING_DAYS: i64 = 30;

/// Where a map came from (the `_aiorch` key of the file; LiteLLM's own file has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub source: String,
    /// LiteLLM's version, when the map was read from an install.
    #[serde(default)]
    pub litellm_version: Option<String>,
    /// The file or URL it was read from.
    #[serde(default)]
    pub from: String,
    /// The day it was taken (YYYY-MM-DD).
    pub date: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subset: String,
}

/// One model of the map, with LiteLLM's field names (USD per token).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Entry {
    pub litellm_provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_token: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_token: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation_date: Option<String>,
}

impl Entry {
    /// USD per million tokens (in, out), when the map prices both directions.
    pub fn price(&self) -> Option<(f64, f64)> {
        Some((per_mtok(self.input_cost_per_token?), per_mtok(self.output_cost_per_token?)))
    }
}

/// Per-token USD to per-million, rounded off the binary noise (3e-06 × 1e6 = 2.9999999999999996).
fn per_mtok(per_token: f64) -> f64 {
    (per_token * 1e6 * 1e6).round() / 1e6
}

/// Which copy is in use.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Embedded,
    StateDir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ModelMap {
    pub meta: Meta,
    pub origin: Origin,
    pub entries: BTreeMap<String, Entry>,
}

/// The state-dir copy `aiorch models update` writes.
pub fn state_file(state_dir: &Path) -> PathBuf {
    state_dir.join("model_map.json")
}

impl ModelMap {
    /// The snapshot built into the binary.
    pub fn embedded() -> ModelMap {
        let mut m = parse_trimmed(SNAPSHOT).expect("the embedded model map parses");
        m.origin = Origin::Embedded;
        m
    }

    /// The map in use: the state-dir copy when it is at least as new as the embedded one, else
    /// the embedded one. A copy that does not parse is ignored (doctor says so).
    pub fn load(state_dir: &Path) -> ModelMap {
        let embedded = ModelMap::embedded();
        match ModelMap::read_state(state_dir) {
            Ok(Some(copy)) if !copy.older_than(&embedded) => copy,
            Ok(_) => embedded,
            Err(e) => {
                tracing::warn!("{e:#}; using the embedded model map");
                embedded
            }
        }
    }

    /// The state-dir copy, if there is one.
    pub fn read_state(state_dir: &Path) -> anyhow::Result<Option<ModelMap>> {
        let path = state_file(state_dir);
        let text = match fs_err::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut m = parse_trimmed(&text).map_err(|e| {
            CliError::failed(format!("{}: not a model map ({e})", path.display()))
                .hint("run `aiorch models update` again, or delete the file to use the embedded map")
        })?;
        m.origin = Origin::StateDir(path);
        Ok(Some(m))
    }

    /// Newer means a higher LiteLLM version when both are known, else a later date.
    pub fn older_than(&self, other: &ModelMap) -> bool {
        match (&self.meta.litellm_version, &other.meta.litellm_version) {
            (Some(a), Some(b)) => version_key(a) < version_key(b),
            _ => self.meta.date < other.meta.date,
        }
    }

    /// `litellm 1.106.2 map of 2026-12-05`, for listings and messages.
    pub fn label(&self) -> String {
        let v = self.meta.litellm_version.as_deref().map_or_else(|| "LiteLLM".to_string(), |v| format!("litellm {v}"));
        format!("{v} map of {}", self.meta.date)
    }

    /// The entry LiteLLM itself would price `model` (`provider/name`, or a bare name) with:
    /// the full key first, then the bare name when its provider matches.
    pub fn lookup(&self, model: &str) -> Option<&Entry> {
        if let Some(e) = self.entries.get(model) {
            return Some(e);
        }
        let (provider, name) = model.split_once('/')?;
        self.entries.get(name).filter(|e| e.litellm_provider == provider)
    }

    /// The entry of a model aiorch calls directly: provider `gemini` is keyed `gemini/NAME` in the
    /// map, `openai` and `anthropic` by the bare name.
    pub fn lookup_direct(&self, provider: &str, name: &str) -> Option<&Entry> {
        self.lookup(&format!("{provider}/{name}"))
    }

    /// Parse LiteLLM's map (or a copy of ours), keep the chat models of [`PROVIDERS`] and the
    /// fields read here. `version` is LiteLLM's when known; `from` names the file or URL.
    pub fn import(text: &str, from: &str, version: Option<String>, today: &str) -> Result<ModelMap, String> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = doc.as_object().ok_or("not a JSON object of models")?;
        let theirs: Option<Meta> = obj.get("_aiorch").and_then(|m| serde_json::from_value(m.clone()).ok());
        let mut entries = BTreeMap::new();
        for (key, v) in obj {
            let Some(e) = v.as_object() else { continue };
            let provider = e.get("litellm_provider").and_then(|p| p.as_str()).unwrap_or("");
            if e.get("mode").and_then(|m| m.as_str()) != Some("chat") || !PROVIDERS.contains(&provider) {
                continue;
            }
            // LiteLLM's numbers are not always typed alike (4096.0, "8192"): read them leniently.
            let num = |f: &str| e.get(f).and_then(|n| n.as_f64().or_else(|| n.as_str()?.parse().ok()));
            entries.insert(
                key.clone(),
                Entry {
                    litellm_provider: provider.to_string(),
                    mode: Some("chat".into()),
                    input_cost_per_token: num("input_cost_per_token"),
                    output_cost_per_token: num("output_cost_per_token"),
                    max_input_tokens: num("max_input_tokens").map(|n| n as u64),
                    max_output_tokens: num("max_output_tokens").map(|n| n as u64),
                    deprecation_date: e
                        .get("deprecation_date")
                        .and_then(|d| d.as_str())
                        .filter(|d| parse_day(d).is_some())
                        .map(str::to_string),
                },
            );
        }
        if entries.is_empty() {
            return Err(format!("no chat model of {} in it: is this LiteLLM's model map?", PROVIDERS.join(", ")));
        }
        let meta = Meta {
            source: "LiteLLM model map (MIT)".into(),
            litellm_version: version.or_else(|| theirs.as_ref().and_then(|m| m.litellm_version.clone())),
            from: from.to_string(),
            date: today.to_string(),
            subset: SNAPSHOT_SUBSET.into(),
        };
        Ok(ModelMap { meta, origin: Origin::Embedded, entries })
    }

    /// Write this map as the state-dir copy (atomically); returns its path.
    pub fn save(&self, state_dir: &Path) -> Result<PathBuf, CliError> {
        let dest = state_file(state_dir);
        fs_err::create_dir_all(state_dir)
            .and_then(|()| crate::apply::fsutil::write_atomic(&dest, self.to_json().as_bytes(), 0o644))
            .map_err(|e| CliError::io("write", &dest, &dest.display().to_string(), e))?;
        Ok(dest)
    }

    /// The file text of this map (the embedded snapshot's format).
    pub fn to_json(&self) -> String {
        let mut doc = serde_json::Map::new();
        doc.insert("_aiorch".into(), serde_json::to_value(&self.meta).expect("meta serialises"));
        for (k, e) in &self.entries {
            doc.insert(k.clone(), serde_json::to_value(e).expect("entry serialises"));
        }
        let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).expect("map serialises");
        text.push('\n');
        text
    }
}

const SNAPSHOT_SUBSET: &str = "chat models of anthropic, openai, gemini; fields: litellm_provider, mode, \
                               input_cost_per_token, output_cost_per_token, max_input_tokens, \
                               max_output_tokens, deprecation_date";

/// Our own trimmed format, typed (the runtime reads it on every start). A hand-written visitor:
/// `#[serde(flatten)]` would buffer every entry first and parse it 1.5× slower (130 µs here).
fn parse_trimmed(text: &str) -> Result<ModelMap, String> {
    struct Doc(Option<Meta>, BTreeMap<String, Entry>);
    struct Visit;
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Doc;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of model names to entries, with `_aiorch`")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Doc, A::Error> {
            let mut doc = Doc(None, BTreeMap::new());
            while let Some(key) = a.next_key::<String>()? {
                if key == "_aiorch" {
                    doc.0 = Some(a.next_value()?);
                } else {
                    doc.1.insert(key, a.next_value()?);
                }
            }
            Ok(doc)
        }
    }
    impl<'de> Deserialize<'de> for Doc {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
            d.deserialize_map(Visit)
        }
    }
    let Doc(meta, entries) = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let meta = meta.ok_or("no `_aiorch` key: not a map aiorch wrote (use `aiorch models update --from`)")?;
    Ok(ModelMap { meta, origin: Origin::Embedded, entries })
}

/// `1.106.2` → [1, 106, 2] (non-numeric parts count as 0).
fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+']).map(|p| p.parse().unwrap_or(0)).collect()
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (civil calendar, proleptic Gregorian).
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Today (UTC) as days since the epoch, from the clock tests pin (`AIORCH_NOW`).
pub fn today() -> i64 {
    crate::ui::now_unix().div_euclid(86_400)
}

/// `YYYY-MM-DD` of today (UTC).
pub fn today_str() -> String {
    let s = crate::ui::utc_stamp(crate::ui::now_unix());
    format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
}

/// A model's retirement as seen from `today`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retirement {
    pub date: String,
    /// Negative once the date has passed.
    pub days_left: i64,
}

impl Retirement {
    pub fn of(entry: &Entry, today: i64) -> Option<Retirement> {
        let date = entry.deprecation_date.as_deref()?;
        Some(Retirement { date: date.to_string(), days_left: parse_day(date)? - today })
    }

    /// Past, or close enough to plan the move now.
    pub fn is_due(&self) -> bool {
        self.days_left <= RETIRING_DAYS
    }

    /// `retired 2026-11-30` / `retires 2026-11-30 (in 9 days)`.
    pub fn describe(&self) -> String {
        match self.days_left {
            d if d < 0 => format!("retired {}", self.date),
            0 => format!("retires {} (today)", self.date),
            1 => format!("retires {} (tomorrow)", self.date),
            d => format!("retires {} (in {d} days)", self.date),
        }
    }
}

/// The `litellm` Python package next to a `litellm` command (a venv's `bin/litellm`): its map
/// and version, so the map of the LiteLLM the services run can be imported.
pub fn discover(command: &Path) -> Option<(PathBuf, Option<String>)> {
    let exe = fs_err::canonicalize(command).unwrap_or_else(|_| command.to_path_buf());
    let prefix = exe.parent()?.parent()?;
    for lib in ["lib", "lib64"] {
        let Ok(dir) = fs_err::read_dir(prefix.join(lib)) else { continue };
        for py in dir.flatten() {
            let site = py.path().join("site-packages");
            let map = site.join("litellm/model_prices_and_context_window_backup.json");
            if !map.is_file() {
                continue;
            }
            let version = install_version(&map);
            return Some((map, version));
        }
    }
    None
}

/// Import the map of the LiteLLM install `command` belongs to into the state dir, when its
/// version is newer than the map in use. Returns the imported map, None when nothing changed.
pub fn adopt_install(state_dir: &Path, command: &Path) -> anyhow::Result<Option<ModelMap>> {
    let Some((file, Some(version))) = discover(command) else { return Ok(None) };
    let current = ModelMap::load(state_dir);
    let newer = current.meta.litellm_version.as_deref().is_none_or(|v| version_key(&version) > version_key(v));
    if !newer || current.meta.litellm_version.is_none() && current.origin != Origin::Embedded {
        // An explicit `aiorch models update` without a version is left alone.
        return Ok(None);
    }
    let text = fs_err::read_to_string(&file)?;
    let map = ModelMap::import(&text, &file.display().to_string(), Some(version), &today_str())
        .map_err(|e| CliError::failed(format!("{}: {e}", file.display())))?;
    map.save(state_dir)?;
    Ok(Some(map))
}

/// The version of the LiteLLM install a map file belongs to (`…/site-packages/litellm/….json`
/// next to `litellm-X.Y.Z.dist-info`), if it is one.
pub fn install_version(map_file: &Path) -> Option<String> {
    let site = map_file.parent()?.parent()?;
    fs_err::read_dir(site).ok()?.flatten().find_map(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix("litellm-")?.strip_suffix(".dist-info").map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_snapshot_parses_and_prices_per_million() {
        let m = ModelMap::embedded();
        assert!(m.entries.len() > 50, "{}", m.entries.len());
        assert!(m.meta.litellm_version.is_some());
        let sonnet = m.lookup_direct("anthropic", "claude-haiku-4-5").unwrap();
        assert_eq!(sonnet.price(), Some((1.0, 5.0)));
        // Gemini's API models are keyed with their provider; Vertex's bare twin is not them.
        assert!(m.lookup_direct("gemini", "gemini-2.5-flash").is_some());
        assert!(m.lookup("openai/claude-haiku-4-5").is_none());
    }

    #[test]
    fn days_and_retirements() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-11-21"), Some(1_795_256_700 / 86_400));
        assert_eq!(parse_day("2026-13-01"), None);
        let e = Entry { deprecation_date: Some("2026-11-30".into()), ..Default::default() };
        let today = parse_day("2026-11-21").unwrap();
        let r = Retirement::of(&e, today).unwrap();
        assert_eq!((r.days_left, r.is_due()), (9, true));
        assert_eq!(r.describe(), "retires 2026-11-30 (in 9 days)");
        assert_eq!(Retirement::of(&e, today + 10).unwrap().describe(), "retired 2026-11-30");
        assert!(!Retirement::of(&e, today - 40).unwrap().is_due());
    }

    #[test]
    fn import_keeps_chat_models_of_our_providers_and_reads_numbers_leniently() {
        let text = r#"{
          "sample_spec": {"mode": "one of: chat"},
          "a": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6,
                "output_cost_per_token": 2e-6, "max_input_tokens": 4096.0, "max_output_tokens": "512",
                "deprecation_date": "2027-01-01", "supports_vision": true},
          "e": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 1e-7},
          "m": {"litellm_provider": "mistral", "mode": "chat"}
        }"#;
        let m = ModelMap::import(text, "f.json", Some("9.9.9".into()), "2026-12-05").unwrap();
        assert_eq!(m.entries.keys().collect::<Vec<_>>(), ["a"]);
        let a = &m.entries["a"];
        assert_eq!((a.max_input_tokens, a.max_output_tokens, a.price()), (Some(4096), Some(512), Some((1.0, 2.0))));
        // Round trip through our own format.
        let back = parse_trimmed(&m.to_json()).unwrap();
        assert_eq!(back.entries, m.entries);
        assert_eq!(back.meta.litellm_version.as_deref(), Some("9.9.9"));
        assert!(ModelMap::import("{\"x\": 1}", "f", None, "2026-12-05").is_err());
    }

    #[test]
    fn newer_is_by_version_then_by_date() {
        let mut a = ModelMap::embedded();
        let mut b = a.clone();
        b.meta.litellm_version = Some("1.200.0".into());
        assert!(a.older_than(&b) && !b.older_than(&a));
        a.meta.litellm_version = None;
        a.meta.date = "2027-01-01".into();
        assert!(!a.older_than(&b));
    }

    #[test]
    fn the_map_of_a_newer_litellm_install_is_adopted_once() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let site = venv.join("lib/python3.11/site-packages");
        fs_err::create_dir_all(site.join("litellm")).unwrap();
        fs_err::create_dir_all(venv.join("bin")).unwrap();
        fs_err::write(venv.join("bin/litellm"), "#!/bin/sh\n").unwrap();
        let map = r#"{"gpt-x": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6,
                      "output_cost_per_token": 2e-6}}"#;
        fs_err::write(site.join("litellm/model_prices_and_context_window_backup.json"), map).unwrap();
        let state = dir.path().join("state");
        // Same version as the snapshot: nothing to do.
        fs_err::create_dir_all(site.join("litellm-1.106.2.dist-info")).unwrap();
        assert!(adopt_install(&state, &venv.join("bin/litellm")).unwrap().is_none());
        fs_err::remove_dir(site.join("litellm-1.106.2.dist-info")).unwrap();
        fs_err::create_dir_all(site.join("litellm-1.200.0.dist-info")).unwrap();
        let got = adopt_install(&state, &venv.join("bin/litellm")).unwrap().unwrap();
        assert_eq!(got.meta.litellm_version.as_deref(), Some("1.200.0"));
        let used = ModelMap::load(&state);
        assert_eq!((used.origin.clone(), used.entries.len()), (Origin::StateDir(state_file(&state)), 1));
        assert!(adopt_install(&state, &venv.join("bin/litellm")).unwrap().is_none(), "imported once");
    }
}
