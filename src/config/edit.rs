//! `aiorch config set KEY VALUE`: a format-preserving edit of the user's TOML (comments,
//! order and spacing stay; toml_edit drops a value's trailing comment unless we carry its decor
//! over, so we do).

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::error::CliError;

/// Set dotted `key` to `raw` in `text`. `raw` is read as a TOML value (`true`, `3`, `["a"]`,
/// `"s"`), falling back to a plain string, so `config set models.default_coding gpt-5` works.
pub fn set_key(text: &str, key: &str, raw: &str) -> Result<String, CliError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, col) = e.span().map(|s| super::load::line_col(text, s.start)).unwrap_or((1, 1));
        CliError::bad_input(format!("{line}:{col}: {}", e.message()))
    })?;
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(CliError::bad_input(format!("`{key}` is not a dotted key path"))
            .hint("example: aiorch config set models.default_coding openai/gpt-5"));
    }
    let mut value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw));
    let (last, parents) = parts.split_last().expect("non-empty");
    let mut table: &mut Table = doc.as_table_mut();
    for p in parents {
        let entry = table.entry(p).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        table = entry.as_table_mut().ok_or_else(|| CliError::bad_input(format!("`{p}` in `{key}` is not a table")))?;
    }
    match table.get_mut(last) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        _ => {
            table.insert(last, Item::Value(value));
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_including_trailing_ones() {
        let src = "# my config\nlocal_only = false # keep me\n\n[models]\n# coding\ndefault_coding = \"a\"\n";
        let out = set_key(src, "local_only", "true").unwrap();
        assert_eq!(out, "# my config\nlocal_only = true # keep me\n\n[models]\n# coding\ndefault_coding = \"a\"\n");
        let out = set_key(&out, "models.default_coding", "openai/gpt-5").unwrap();
        assert!(out.contains("# coding\ndefault_coding = \"openai/gpt-5\"\n"), "{out}");
    }

    #[test]
    fn creates_tables() {
        let out = set_key("", "clients.codex", "never").unwrap();
        assert_eq!(out, "[clients]\ncodex = \"never\"\n");
    }
}
