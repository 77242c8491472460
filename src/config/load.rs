//! Reading config files, with errors that point at `file:line:col` and suggest the key the
//! user probably meant.

use std::path::Path;

use super::Config;
use crate::error::{CliError, did_you_mean};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// Load the config at `path`; a missing file means defaults unless it was named explicitly.
pub fn load(path: &Path, must_exist: bool) -> anyhow::Result<Config> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(Config::default()),
        Err(e) => {
            let shown = path.display().to_string();
            if e.kind() == std::io::ErrorKind::NotFound {
                return Err(CliError::bad_input(format!("cannot read config {shown}: no such file"))
                    .hint("create one with `aiorch init`, or point --config / AIORCH_CONFIG at an existing file")
                    .into());
            }
            return Err(CliError::io("read config", path, &shown, e).into());
        }
    };
    Ok(parse_str(&text, Format::of(path), &path.display().to_string())?)
}

pub fn parse_str(text: &str, format: Format, origin: &str) -> Result<Config, CliError> {
    match format {
        Format::Toml => toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            describe(origin, line, col, e.message())
        }),
        Format::Json => {
            // JSON written by Nix may be a single line; serde_json gives line and column.
            serde_json::from_str(text).map_err(|e| {
                let full = e.to_string();
                let msg = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
                let (line, col) = json_line_col(text, &e);
                describe(origin, line, col, msg)
            })
        }
    }
}

fn describe(origin: &str, line: usize, col: usize, msg: &str) -> CliError {
    let mut err = CliError::bad_input(format!("{origin}:{line}:{col}: {msg}"));
    if let Some((unknown, expected)) = parse_unknown(msg) {
        if let Some(best) = did_you_mean(&unknown, expected.iter().map(String::as_str)) {
            err = err.hint(format!("did you mean `{best}`?"));
        }
        err = err.hint("`aiorch config schema` prints every key");
    }
    err
}

/// Pull the offending word and the candidates out of serde's
/// "unknown field `x`, expected one of `a`, `b`" / "unknown variant …" messages.
fn parse_unknown(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `").or_else(|| msg.strip_prefix("unknown variant `"))?;
    let end = rest.find('`')?;
    let word = rest[..end].to_string();
    let expected = rest[end..].split('`').skip(2).step_by(2).map(str::to_string).collect();
    Some((word, expected))
}

/// serde_json's error position as 1-based line and column. Its column 0 means the newline
/// that ends the line before (`"a": tru⏎`): point just past that line's last character.
pub fn json_line_col(text: &str, e: &serde_json::Error) -> (usize, usize) {
    match (e.line(), e.column()) {
        (l, 0) if l > 1 => (l - 1, text.lines().nth(l - 2).map_or(0, |t| t.chars().count()) + 1),
        (l, c) => (l.max(1), c.max(1)),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_position_and_suggestion() {
        let err = parse_str("enable = true\nlocal_onyl = true\n", Format::Toml, "c.toml").unwrap_err();
        assert!(err.message.starts_with("c.toml:2:1: unknown field `local_onyl`"), "{}", err.message);
        assert_eq!(err.hints[0], "did you mean `local_only`?");
    }

    #[test]
    fn nested_unknown_key_in_json() {
        let err = parse_str("{\n  \"models\": {\"default_codng\": \"x\"}\n}", Format::Json, "c.json").unwrap_err();
        assert!(err.message.starts_with("c.json:2:"), "{}", err.message);
        assert_eq!(err.hints[0], "did you mean `default_coding`?");
    }

    #[test]
    fn json_error_at_a_line_end_points_at_that_line() {
        let err = parse_str("{\n  \"enable\": true,\n  \"local_only\": tru\n}\n", Format::Json, "c.json").unwrap_err();
        assert!(err.message.starts_with("c.json:3:20: expected ident"), "{}", err.message);
    }

    #[test]
    fn bad_enum_value_suggests() {
        let err = parse_str("[clients]\nclaude = \"alway\"\n", Format::Toml, "c.toml").unwrap_err();
        assert!(err.message.starts_with("c.toml:2:10:"), "{}", err.message);
        assert_eq!(err.hints[0], "did you mean `always`?");
    }
}
