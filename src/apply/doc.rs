//! One interface over the two structured formats clients keep their settings in, so the plan
//! can merge a key without caring whether the file is JSON(C) or TOML. Both editors keep every
//! byte they are not asked to change.

use std::path::{Path, PathBuf};

use serde_json::Value;
use toml_edit::{DocumentMut, Item, Table};

use super::jsonc::JsoncDoc;
use super::ledger::DocFormat;
use crate::config::load::line_col;
use crate::error::CliError;

/// A parsed settings file and where it lives: every error names the file.
pub struct Doc {
    path: PathBuf,
    body: Body,
}

enum Body {
    Json(JsoncDoc),
    Toml(DocumentMut),
}

/// What a user can do about a file aiorch cannot merge into.
const UNTOUCHED: &str = "fix or move the file, then run aiorch again; nothing was changed";

impl Doc {
    /// Parse `text`; a parse error names `file:line:col` and is bad input (exit 2).
    pub fn parse(format: DocFormat, text: &str, path: &Path) -> Result<Doc, CliError> {
        let body = match format {
            DocFormat::Json => JsoncDoc::parse(text).map(Body::Json).map_err(|e| {
                CliError::bad_input(format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.msg)).hint(UNTOUCHED)
            })?,
            DocFormat::Toml => text.parse::<DocumentMut>().map(Body::Toml).map_err(|e| {
                let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
                CliError::bad_input(format!("{}:{line}:{col}: {}", path.display(), e.message().trim())).hint(UNTOUCHED)
            })?,
        };
        Ok(Doc { path: path.to_path_buf(), body })
    }

    pub fn get(&self, key: &[String]) -> Option<Value> {
        match &self.body {
            Body::Json(d) => d.get(&keys(key)),
            Body::Toml(d) => {
                let mut item = d.as_item();
                for k in key {
                    item = item.get(k)?;
                }
                item_to_json(item)
            }
        }
    }

    pub fn set(&mut self, key: &[String], value: &Value) -> Result<(), CliError> {
        let path = self.path.clone();
        match &mut self.body {
            Body::Json(d) => d.set(&keys(key), value).map_err(|e| json_edit_error(&path, e)),
            Body::Toml(d) => {
                let (last, parents) = key.split_last().expect("key paths are never empty");
                let mut table: &mut Table = d.as_table_mut();
                for (depth, p) in parents.iter().enumerate() {
                    let entry = table.entry(p).or_insert_with(|| {
                        let mut t = Table::new();
                        t.set_implicit(true);
                        Item::Table(t)
                    });
                    if !entry.is_table() {
                        let what = if entry.is_inline_table() { "an inline table" } else { "not a table" };
                        return Err(self.toml_not_a_table(&key[..=depth], what, key));
                    }
                    table = entry.as_table_mut().expect("checked above");
                }
                let mut new = json_to_item(value, true);
                // Keep the comment and spacing around a value we replace.
                if let (Some(Item::Value(old)), Item::Value(v)) = (table.get(last), &mut new) {
                    *v.decor_mut() = old.decor().clone();
                }
                if let (Some(Item::Table(old)), Item::Table(t)) = (table.get(last), &mut new) {
                    *t.decor_mut() = old.decor().clone();
                }
                table.insert(last, new);
                Ok(())
            }
        }
    }

    /// `key[..]` holds something aiorch cannot add `full` under: bad input at the line of that
    /// key, naming it (not the key aiorch wanted to add).
    fn toml_not_a_table(&self, at: &[String], what: &str, full: &[String]) -> CliError {
        let text = self.text();
        let (line, col) = toml_edit::Document::parse(text.as_str())
            .ok()
            .and_then(|d| {
                let mut item = d.as_item();
                for k in at {
                    item = item.get(k)?;
                }
                item.span()
            })
            .map_or((1, 1), |s| line_col(&text, s.start));
        let shown = at.join(".");
        CliError::bad_input(format!(
            "{}:{line}:{col}: `{shown}` is {what}, so aiorch cannot add `{}` to it",
            self.path.display(),
            full.join(".")
        ))
        .hint(format!(
            "write `{shown}` as [{shown}.NAME] tables (the form `codex mcp add` writes); nothing was changed"
        ))
    }

    pub fn remove(&mut self, key: &[String]) -> Result<bool, CliError> {
        let path = self.path.clone();
        match &mut self.body {
            Body::Json(d) => d.remove(&keys(key)).map_err(|e| json_edit_error(&path, e)),
            Body::Toml(d) => {
                let (last, parents) = key.split_last().expect("key paths are never empty");
                let mut item = d.as_item_mut();
                for p in parents {
                    match item.get_mut(p) {
                        Some(i) => item = i,
                        None => return Ok(false),
                    }
                }
                Ok(item.as_table_like_mut().and_then(|t| t.remove(last)).is_some())
            }
        }
    }

    /// Make the array at `key` equal `want` by removing `gone` and appending `add`, editing the
    /// existing array in place so the user's layout and comments inside it survive; an absent
    /// or empty array is simply set.
    pub fn edit_array(
        &mut self,
        key: &[String],
        add: &[Value],
        gone: &[Value],
        want: &[Value],
    ) -> Result<(), CliError> {
        let path = self.path.clone();
        let fail = |e: super::jsonc::ParseError| json_edit_error(&path, e);
        match &mut self.body {
            Body::Json(d) => {
                let k = keys(key);
                for v in gone {
                    d.array_remove(&k, v).map_err(fail)?;
                }
                for v in add {
                    if !d.array_push(&k, v).map_err(fail)? {
                        let mut cur = match d.get(&k) {
                            Some(Value::Array(a)) => a,
                            _ => vec![],
                        };
                        cur.push(v.clone());
                        d.set(&k, &Value::Array(cur)).map_err(fail)?;
                    }
                }
            }
            Body::Toml(d) => {
                let mut item = Some(d.as_item_mut());
                for p in key {
                    item = item.and_then(|i| i.get_mut(p));
                }
                if let Some(arr) = item.and_then(|i| i.as_array_mut())
                    && !arr.is_empty()
                {
                    arr.retain(|v| !gone.contains(&value_to_json(v)));
                    for v in add {
                        arr.push(json_to_value(v));
                    }
                }
            }
        }
        if self.get(key).as_ref() != Some(&Value::Array(want.to_vec())) {
            self.set(key, &Value::Array(want.to_vec()))?;
        }
        Ok(())
    }

    pub fn text(&self) -> String {
        match &self.body {
            Body::Json(d) => d.text().to_string(),
            Body::Toml(d) => d.to_string(),
        }
    }

    /// True when the document holds nothing at all (so a file aiorch created can go).
    pub fn is_empty(&self) -> bool {
        match &self.body {
            Body::Json(d) => d.to_value().as_object().is_some_and(|o| o.is_empty()),
            Body::Toml(d) => d.as_table().is_empty(),
        }
    }
}

/// A JSON edit aiorch cannot make (a key it must descend into is not an object): bad input,
/// named `file:line:col` at the offending value.
fn json_edit_error(path: &Path, e: super::jsonc::ParseError) -> CliError {
    CliError::bad_input(format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.msg)).hint(UNTOUCHED)
}

fn keys(key: &[String]) -> Vec<&str> {
    key.iter().map(String::as_str).collect()
}

/// JSON → TOML: objects become `[tables]` at the top of what we insert, inline tables inside
/// arrays and below (the shape Codex's own `codex mcp add` writes).
fn json_to_item(v: &Value, top: bool) -> Item {
    match v {
        Value::Object(map) if top => {
            let mut t = Table::new();
            for (k, v) in map {
                t.insert(k, json_to_item(v, false));
            }
            Item::Table(t)
        }
        other => Item::Value(json_to_value(other)),
    }
}

fn json_to_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => toml_edit::Value::Array(a.iter().map(json_to_value).collect()),
        Value::Object(m) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in m {
                t.insert(k, json_to_value(v));
            }
            toml_edit::Value::InlineTable(t)
        }
    }
}

fn item_to_json(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_json(v)),
        Item::Table(t) => {
            Some(Value::Object(t.iter().filter_map(|(k, v)| Some((k.to_string(), item_to_json(v)?))).collect()))
        }
        Item::ArrayOfTables(a) => {
            Some(Value::Array(a.iter().map(|t| item_to_json(&Item::Table(t.clone())).unwrap_or(Value::Null)).collect()))
        }
    }
}

fn value_to_json(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as T;
    match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::from(*i.value()),
        T::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        T::InlineTable(t) => Value::Object(t.iter().map(|(k, v)| (k.to_string(), value_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn k(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn toml_merge_keeps_user_tables_and_comments() {
        let src = "# my codex config\nmodel = \"o3\" # favourite\n\n[projects.\"/x\"]\ntrust_level = \"trusted\"\n";
        let mut d = Doc::parse(DocFormat::Toml, src, Path::new("c.toml")).unwrap();
        d.set(&k("mcp_servers.echo"), &json!({"command": "py", "args": ["e.py"], "env": {"A": "1"}})).unwrap();
        let out = d.text();
        assert!(out.starts_with(src), "{out}");
        assert!(
            out.contains("[mcp_servers.echo]\ncommand = \"py\"\nargs = [\"e.py\"]\nenv = { A = \"1\" }\n"),
            "{out}"
        );
        assert_eq!(d.get(&k("mcp_servers.echo.env.A")), Some(json!("1")));
        assert!(d.remove(&k("mcp_servers.echo")).unwrap());
        assert_eq!(Doc::parse(DocFormat::Toml, &d.text(), Path::new("c")).unwrap().get(&k("model")), Some(json!("o3")));
    }

    #[test]
    fn toml_parse_error_has_position() {
        let err = Doc::parse(DocFormat::Toml, "a = 1\nb = \n", Path::new("/h/c.toml")).err().unwrap();
        assert!(err.message.starts_with("/h/c.toml:2:"), "{}", err.message);
    }
}
