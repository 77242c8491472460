//! `aiorch init` and `aiorch config show|path|set|schema`.

use super::ConfigCmd;
use crate::config::{self, Config, Format};
use crate::error::{CliError, Exit};
use crate::paths::Paths;
use crate::ui::Ui;

pub fn init(ui: &Ui, paths: &Paths, force: bool) -> anyhow::Result<Exit> {
    let path = &paths.config_file;
    if path.exists() && !force {
        return Err(CliError::bad_input(format!("{} already exists", path.display()))
            .hint("use `aiorch config set KEY VALUE` to change it, or `aiorch init --force` to start over")
            .into());
    }
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)?;
    }
    let text = match Format::of(path) {
        Format::Toml => config::DEFAULT_TEMPLATE.to_string(),
        Format::Json => serde_json::to_string_pretty(&Config::default())? + "\n",
    };
    crate::apply::fsutil::write_atomic(path, text.as_bytes(), 0o644)?;
    ui.out(&format!("wrote {}", path.display()));
    ui.out("next: `aiorch apply --dry-run` to see what it would do");
    Ok(Exit::Ok)
}

pub fn config(ui: &Ui, paths: &Paths, cmd: ConfigCmd) -> anyhow::Result<Exit> {
    match cmd {
        ConfigCmd::Path => {
            ui.data(&paths.config_file.display().to_string());
        }
        ConfigCmd::Show => {
            let cfg = config::load(&paths.config_file, paths.config_explicit)?;
            if ui.json {
                ui.json(&serde_json::to_value(&cfg)?);
            } else {
                ui.data(toml::to_string_pretty(&cfg)?.trim_end());
            }
        }
        ConfigCmd::Schema => ui.json(&Config::schema()),
        ConfigCmd::Set { key, value } => {
            let path = &paths.config_file;
            if Format::of(path) == Format::Json {
                return Err(CliError::bad_input(format!("{} is JSON", path.display()))
                    .hint(
                        "`config set` edits TOML configs; a JSON config is usually generated (by the Nix module): \
                         change it at its source",
                    )
                    .into());
            }
            let old = match fs_err::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => config::DEFAULT_TEMPLATE.to_string(),
                Err(e) => return Err(e.into()),
            };
            let new = config::set_key(&old, &key, &value)
                .map_err(|e| CliError::bad_input(format!("{}:{}", path.display(), e.message)))?;
            // Validate before writing: a key the schema does not know is refused, file untouched.
            config::parse_str(&new, Format::Toml, &path.display().to_string())?;
            if let Some(dir) = path.parent() {
                fs_err::create_dir_all(dir)?;
            }
            let mode = fs_err::metadata(path)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
                .unwrap_or(0o644);
            crate::apply::fsutil::write_atomic(path, new.as_bytes(), mode)?;
            ui.out(&format!("set {key} in {}", path.display()));
        }
    }
    Ok(Exit::Ok)
}
