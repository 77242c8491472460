//! One interface over the structured formats clients keep their settings in — JSON(C), TOML,
//! and top-level keys of YAML — so the plan can merge a key without caring which one the file
//! is. Every editor keeps every byte it is not asked to change.

use std::path::{Path, PathBuf};

use serde_json::Value;
use toml_edit::{DocumentMut, Item, Table};

use super::jsonc::JsoncDoc;
use super::ledger::DocFormat;
use super::yaml::YamlDoc;
use crate::config::load::line_col;
use crate::error::CliError;

/// A parsed settings file and where it lives: every error names the file.
#[derive(Clone)]
pub struct Doc {
    path: PathBuf,
    body: Body,
    /// TOML only (the JSONC editor keeps these itself): a byte-order mark the file starts with,
    /// and CRLF line endings, which the TOML editor would not write on lines it adds.
    bom: bool,
    crlf: bool,
}

#[derive(Clone)]
enum Body {
    Json(JsoncDoc),
    Toml(DocumentMut),
    Yaml(YamlDoc),
}

/// What a user can do about a file aiorch cannot merge into.
const UNTOUCHED: &str = "fix or move the file, then run aiorch again; nothing was changed";

impl Doc {
    /// Parse `text`; a parse error names `file:line:col` and is bad input (exit 2).
    pub fn parse(format: DocFormat, text: &str, path: &Path) -> Result<Doc, CliError> {
        let (mut bom, mut crlf) = (false, false);
        let owned: String;
        let text = match format {
            DocFormat::Json | DocFormat::Yaml => text,
            DocFormat::Toml => {
                let body = text.strip_prefix('\u{feff}');
                bom = body.is_some();
                let body = body.unwrap_or(text);
                // Only a file that ends every line with CRLF is CRLF: a mixed one stays as it is.
                let lf = body.bytes().filter(|&b| b == b'\n').count();
                crlf = lf > 0 && body.matches("\r\n").count() == lf;
                if crlf {
                    owned = body.replace("\r\n", "\n");
                    &owned
                } else {
                    body
                }
            }
        };
        let body = match format {
            DocFormat::Json => JsoncDoc::parse(text).map(Body::Json).map_err(|e| {
                CliError::bad_input(format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.msg)).hint(UNTOUCHED)
            })?,
            DocFormat::Toml => text.parse::<DocumentMut>().map(Body::Toml).map_err(|e| {
                let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
                CliError::bad_input(format!("{}:{line}:{col}: {}", path.display(), e.message().trim())).hint(UNTOUCHED)
            })?,
            DocFormat::Yaml => YamlDoc::parse(text).map(Body::Yaml).map_err(|e| {
                CliError::bad_input(format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.msg)).hint(UNTOUCHED)
            })?,
        };
        Ok(Doc { path: path.to_path_buf(), body, bom, crlf })
    }

    /// The whole document as a value (to compare two versions of a file).
    pub fn value(&self) -> Option<Value> {
        self.get(&[])
    }

    /// `file:line` of the member at `key`, when the format can tell (for conflict messages).
    pub fn line_of(&self, key: &[String]) -> Option<usize> {
        let text = self.text();
        let at = match &self.body {
            Body::Yaml(d) => return d.line_of(key.first()?),
            Body::Json(d) => d.key_offset(&keys(key))?,
            Body::Toml(_) => {
                let plain = text.strip_prefix('\u{feff}').unwrap_or(&text).replace("\r\n", "\n");
                let d = toml_edit::Document::parse(plain.as_str()).ok()?;
                let mut item = d.as_item();
                for k in key {
                    item = item.get(k)?;
                }
                let at = item.span().map(|s| s.start).or_else(|| {
                    // A `[table]`'s span is not kept: find its header instead.
                    let header = format!("[{}]", key.join("."));
                    plain
                        .lines()
                        .position(|l| l.trim_start().starts_with(&header))
                        .map(|n| plain.lines().take(n).map(|l| l.len() + 1).sum::<usize>())
                })?;
                return Some(line_col(&plain, at).0);
            }
        };
        Some(line_col(&text, at).0)
    }

    /// Undo `splice` (put the user's text back where aiorch's still stands) when that gives
    /// exactly the document `want` — the same values everywhere; then only the bytes differ,
    /// and they are the user's own. `None` when the surrounding text no longer allows it.
    pub fn unsplice(&self, splice: &super::ledger::Splice, want: &Doc) -> Option<Doc> {
        let text = self.text();
        let target = want.value();
        if splice.ours.is_empty() {
            return None;
        }
        let mut from = 0;
        for _ in 0..32 {
            let at = from + text[from..].find(&splice.ours)?;
            let candidate = format!("{}{}{}", &text[..at], splice.theirs, &text[at + splice.ours.len()..]);
            let format = match self.body {
                Body::Json(_) => DocFormat::Json,
                Body::Toml(_) => DocFormat::Toml,
                Body::Yaml(_) => DocFormat::Yaml,
            };
            if let Ok(d) = Doc::parse(format, &candidate, &self.path)
                && d.value() == target
                && d.text() == candidate
            {
                return Some(d);
            }
            from = at + 1;
            while !text.is_char_boundary(from) {
                from += 1;
            }
        }
        None
    }

    pub fn get(&self, key: &[String]) -> Option<Value> {
        match &self.body {
            Body::Yaml(d) => d.get(&keys(key)),
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
            Body::Yaml(d) => d.set(&keys(key), value).map_err(|e| yaml_edit_error(&path, e)),
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
                    if let Some(inline) = entry.as_inline_table_mut() {
                        // `mcp_servers = { x = {…} }`: the rest goes inside, inline as well, so
                        // the user's one-line style stays (Codex reads both forms alike).
                        if set_inline(inline, &parents[depth + 1..], last, value) {
                            return Ok(());
                        }
                        return Err(self.toml_not_a_table(parents, "not a table", key));
                    }
                    if !entry.is_table() {
                        return Err(self.toml_not_a_table(&key[..=depth], "not a table", key));
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
            Body::Yaml(d) => d.remove(&keys(key)).map_err(|e| yaml_edit_error(&path, e)),
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
                if let Some(t) = item.as_inline_table_mut() {
                    // Give the space before `}` back to what is now the last value.
                    let was_last = t.iter().last().is_some_and(|(k, _)| k == last);
                    let Some(gone) = t.remove(last) else { return Ok(false) };
                    if was_last
                        && let Some(tail) = gone.decor().suffix().cloned()
                        && let Some((_, prev)) = t.iter_mut().last()
                    {
                        prev.decor_mut().set_suffix(tail);
                    }
                    return Ok(true);
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
            Body::Yaml(d) => return d.edit_array(&keys(key), add, gone, want).map_err(|e| yaml_edit_error(&path, e)),
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
            Body::Yaml(d) => d.text().to_string(),
            Body::Json(d) => d.text().to_string(),
            Body::Toml(d) => {
                let mut out = if self.bom { "\u{feff}".to_string() } else { String::new() };
                let text = d.to_string();
                out.push_str(&if self.crlf { text.replace('\n', "\r\n") } else { text });
                out
            }
        }
    }

    /// True when the document holds nothing at all (so a file aiorch created can go).
    pub fn is_empty(&self) -> bool {
        match &self.body {
            Body::Yaml(d) => d.is_empty(),
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

/// A YAML edit aiorch does not make (a nested key): bad input naming the file.
fn yaml_edit_error(path: &Path, msg: String) -> CliError {
    CliError::bad_input(format!("{}: {msg}", path.display())).hint(UNTOUCHED)
}

fn keys(key: &[String]) -> Vec<&str> {
    key.iter().map(String::as_str).collect()
}

/// Set `rest.last = value` inside an inline table, creating inline tables on the way; false
/// when something on the way is not a table.
fn set_inline(mut t: &mut toml_edit::InlineTable, rest: &[String], last: &str, value: &Value) -> bool {
    for p in rest {
        let next = t.entry(p).or_insert(toml_edit::Value::InlineTable(toml_edit::InlineTable::new()));
        match next.as_inline_table_mut() {
            Some(n) => t = n,
            None => return false,
        }
    }
    let mut v = json_to_value(value);
    match t.get(last) {
        Some(old) => *v.decor_mut() = old.decor().clone(),
        None => {
            // The space before `}` belongs to the last value: it moves to the new last one.
            v.decor_mut().set_prefix(" ");
            if let Some((_, prev)) = t.iter_mut().last() {
                let tail = prev.decor().suffix().cloned();
                prev.decor_mut().set_suffix("");
                if let Some(tail) = tail {
                    v.decor_mut().set_suffix(tail);
                }
            }
        }
    }
    t.insert(last, v);
    true
}

/// The one span that differs between `before` and `after` (common prefix and suffix cut off,
/// on character boundaries): what an edit replaced and what it put there.
pub fn splice_of(before: &str, after: &str) -> super::ledger::Splice {
    let (a, b) = (before.as_bytes(), after.as_bytes());
    let mut p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !before.is_char_boundary(p) || !after.is_char_boundary(p) {
        p -= 1;
    }
    let max = a.len().min(b.len()) - p;
    let mut s = a.iter().rev().zip(b.iter().rev()).take(max).take_while(|(x, y)| x == y).count();
    while !before.is_char_boundary(a.len() - s) || !after.is_char_boundary(b.len() - s) {
        s -= 1;
    }
    super::ledger::Splice { theirs: before[p..a.len() - s].to_string(), ours: after[p..b.len() - s].to_string() }
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
    fn toml_inline_server_tables_are_merged_into() {
        let src = "mcp_servers = { mine = { command = \"m\" } } # one line\nmodel = \"o3\"\n";
        let mut d = Doc::parse(DocFormat::Toml, src, Path::new("c.toml")).unwrap();
        d.set(&k("mcp_servers.echo"), &json!({"command": "py", "args": ["e.py"]})).unwrap();
        assert_eq!(
            d.text(),
            "mcp_servers = { mine = { command = \"m\" }, echo = { command = \"py\", args = [\"e.py\"] } } # one \
             line\nmodel = \"o3\"\n"
        );
        assert_eq!(d.get(&k("mcp_servers.echo.command")), Some(json!("py")));
        assert!(d.remove(&k("mcp_servers.echo")).unwrap());
        assert_eq!(d.text(), src);
    }

    #[test]
    fn toml_keeps_a_bom_and_crlf() {
        let src = "\u{feff}# mine\r\nmodel = \"o3\"\r\n";
        let mut d = Doc::parse(DocFormat::Toml, src, Path::new("c.toml")).unwrap();
        d.set(&k("mcp_servers.echo"), &json!({"command": "py"})).unwrap();
        assert_eq!(d.text(), "\u{feff}# mine\r\nmodel = \"o3\"\r\n\r\n[mcp_servers.echo]\r\ncommand = \"py\"\r\n");
        assert!(d.remove(&k("mcp_servers.echo")).unwrap());
        assert!(d.remove(&k("mcp_servers")).unwrap());
        assert_eq!(d.text(), src);
    }

    #[test]
    fn toml_parse_error_has_position() {
        let err = Doc::parse(DocFormat::Toml, "a = 1\nb = \n", Path::new("/h/c.toml")).err().unwrap();
        assert!(err.message.starts_with("/h/c.toml:2:"), "{}", err.message);
    }
}
