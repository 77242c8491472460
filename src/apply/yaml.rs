//! A line-level editor for the YAML files clients keep their settings in (Aider's
//! `~/.aider.conf.yml`): it reads the whole file with a YAML parser, but only ever rewrites the
//! lines of one top-level key. Everything else — comments, blank lines, quoting, key order —
//! stays byte for byte. A nested key is refused (bad input): no client aiorch writes YAML for
//! needs one.

use serde_json::{Map, Value};

/// A parse failure, 1-based.
#[derive(Debug)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

#[derive(Clone, Debug)]
pub struct YamlDoc {
    text: String,
}

/// One top-level `key:` and the lines that belong to it (`start..end`, line indices).
struct Block {
    key: String,
    start: usize,
    end: usize,
}

impl YamlDoc {
    /// Parse `text`: it must be a YAML mapping (or empty).
    pub fn parse(text: &str) -> Result<YamlDoc, YamlError> {
        parse_value(text)?;
        Ok(YamlDoc { text: text.to_string() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn value(&self) -> Value {
        parse_value(&self.text).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    pub fn get(&self, key: &[&str]) -> Option<Value> {
        let mut v = self.value();
        for k in key {
            v = v.as_object_mut()?.remove(*k)?;
        }
        Some(v)
    }

    /// The 1-based line of a top-level key.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.blocks().into_iter().find(|b| b.key == key).map(|b| b.start + 1)
    }

    /// Replace the lines of top-level `key` with `key: value` (appended when absent).
    pub fn set(&mut self, key: &[&str], value: &Value) -> Result<(), String> {
        let [key] = key else { return Err(nested(key)) };
        let nl = self.newline();
        let rendered = render(key, value, nl);
        let mut lines = self.lines();
        match self.blocks().into_iter().find(|b| b.key == *key) {
            Some(b) => {
                lines.splice(b.start..b.end, [rendered]);
            }
            None => {
                if let Some(last) = lines.last_mut()
                    && !last.ends_with('\n')
                {
                    last.push_str(nl);
                }
                lines.push(rendered);
            }
        }
        self.text = lines.concat();
        Ok(())
    }

    /// Remove the lines of top-level `key`; false when it is not there.
    pub fn remove(&mut self, key: &[&str]) -> Result<bool, String> {
        let [key] = key else { return Err(nested(key)) };
        let Some(b) = self.blocks().into_iter().find(|b| b.key == *key) else { return Ok(false) };
        let mut lines = self.lines();
        lines.drain(b.start..b.end);
        self.text = lines.concat();
        Ok(true)
    }

    /// Make the list at top-level `key` equal `want`: in a block list, drop the item lines in
    /// `gone` and add `add` after the last item (the user's items and comments stay where they
    /// are); anything else is rewritten whole.
    pub fn edit_array(&mut self, key: &[&str], add: &[Value], gone: &[Value], want: &[Value]) -> Result<(), String> {
        let [k] = key else { return Err(nested(key)) };
        let want_v = Value::Array(want.to_vec());
        if let Some(b) = self.blocks().into_iter().find(|b| b.key == *k) {
            let mut lines = self.lines();
            let items: Vec<(usize, Value, String)> = (b.start + 1..b.end)
                .filter_map(|i| {
                    let l = lines[i].trim_end_matches(['\n', '\r']);
                    let indent = l.len() - l.trim_start().len();
                    let rest = l.trim_start().strip_prefix("- ")?;
                    Some((i, serde_saphyr::from_str::<Value>(rest).ok()?, l[..indent].to_string()))
                })
                .collect();
            if !items.is_empty() {
                let indent = items[0].2.clone();
                let after = items.last().expect("non-empty").0 + 1;
                let nl = self.newline();
                let new: Vec<String> = add.iter().map(|v| format!("{indent}- {}{nl}", scalar(v))).collect();
                lines.splice(after..after, new);
                for (i, v, _) in items.iter().rev() {
                    if gone.contains(v) {
                        lines.remove(*i);
                    }
                }
                let candidate = YamlDoc { text: lines.concat() };
                if candidate.get(key) == Some(want_v.clone()) {
                    *self = candidate;
                    return Ok(());
                }
            }
        }
        self.set(key, &want_v)
    }

    pub fn is_empty(&self) -> bool {
        self.value().as_object().is_none_or(Map::is_empty)
    }

    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") { "\r\n" } else { "\n" }
    }

    fn lines(&self) -> Vec<String> {
        self.text.split_inclusive('\n').map(str::to_string).collect()
    }

    /// The top-level keys and their lines. A block runs to the next top-level key; blank lines
    /// and column-0 comments at its end belong to what follows.
    fn blocks(&self) -> Vec<Block> {
        let lines = self.lines();
        let starts: Vec<(usize, String)> =
            lines.iter().enumerate().filter_map(|(i, l)| top_level_key(l).map(|k| (i, k))).collect();
        let mut out = vec![];
        for (n, (start, key)) in starts.iter().enumerate() {
            let limit = starts.get(n + 1).map_or(lines.len(), |(s, _)| *s);
            let mut end = limit;
            while end > start + 1 {
                let l = lines[end - 1].trim_end();
                if l.is_empty() || l.starts_with('#') || l == "---" || l == "..." {
                    end -= 1;
                } else {
                    break;
                }
            }
            out.push(Block { key: key.clone(), start: *start, end });
        }
        out
    }
}

fn nested(key: &[&str]) -> String {
    format!("aiorch edits only top-level keys of YAML files, not `{}`", key.join("."))
}

/// `key` when `line` opens a top-level mapping entry (`key:` at column 0).
fn top_level_key(line: &str) -> Option<String> {
    let first = line.chars().next()?;
    if first.is_whitespace() || matches!(first, '#' | '-' | '[' | '{' | '.' | '%') {
        return None;
    }
    let (k, rest) = if first == '"' || first == '\'' {
        let close = line[1..].find(first)? + 1;
        (line[1..close].to_string(), &line[close + 1..])
    } else {
        let colon = line.find(':')?;
        (line[..colon].trim_end().to_string(), &line[colon..])
    };
    let after = rest.strip_prefix(':')?;
    (after.is_empty() || after.starts_with([' ', '\t', '\n', '\r'])).then_some(k)
}

fn parse_value(text: &str) -> Result<Value, YamlError> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = serde_saphyr::from_str(text).map_err(|e| {
        use serde_saphyr::MessageFormatter as _;
        let msg: String = serde_saphyr::UserMessageFormatter
            .format_message(&e)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let (line, col) = e.location().map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
        YamlError { line, col, msg }
    })?;
    match v {
        Value::Object(_) => Ok(v),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(YamlError { line: 1, col: 1, msg: "the file is not a mapping of `key: value` settings".into() }),
    }
}

/// A value on one line: strings double-quoted (JSON escapes are YAML escapes), the rest as
/// JSON (flow style is YAML too).
fn scalar(v: &Value) -> String {
    v.to_string()
}

fn render(key: &str, value: &Value, nl: &str) -> String {
    match value {
        Value::Array(items) if !items.is_empty() && items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            let mut s = format!("{key}:{nl}");
            for i in items {
                s.push_str(&format!("  - {}{nl}", scalar(i)));
            }
            s
        }
        _ => format!("{key}: {}{nl}", scalar(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "# my aider settings\nmodel: sonnet  # favourite\nread:\n  # conventions\n  - CONVENTIONS.md\n\n\
                        # below: dark mode\ndark-mode: true\n";

    #[test]
    fn members_are_added_and_removed_keeping_every_other_byte() {
        let mut d = YamlDoc::parse(USER).unwrap();
        let want = [json!("CONVENTIONS.md"), json!("/s/AGENTS.md")];
        d.edit_array(&["read"], &[json!("/s/AGENTS.md")], &[], &want).unwrap();
        assert_eq!(
            d.text(),
            "# my aider settings\nmodel: sonnet  # favourite\nread:\n  # conventions\n  - CONVENTIONS.md\n  - \
             \"/s/AGENTS.md\"\n\n# below: dark mode\ndark-mode: true\n"
        );
        d.edit_array(&["read"], &[], &[json!("/s/AGENTS.md")], &want[..1]).unwrap();
        assert_eq!(d.text(), USER);
    }

    #[test]
    fn a_new_key_is_appended_and_removed_again() {
        let mut d = YamlDoc::parse("model: x").unwrap();
        d.set(&["openai-api-base"], &json!("http://127.0.0.1:4000/v1")).unwrap();
        d.edit_array(&["alias"], &[json!("a:b")], &[], &[json!("a:b")]).unwrap();
        assert_eq!(d.text(), "model: x\nopenai-api-base: \"http://127.0.0.1:4000/v1\"\nalias:\n  - \"a:b\"\n");
        assert_eq!(d.get(&["alias"]), Some(json!(["a:b"])));
        assert!(d.remove(&["alias"]).unwrap() && d.remove(&["openai-api-base"]).unwrap());
        assert_eq!(d.text(), "model: x\n");
        assert!(d.set(&["a", "b"], &json!(1)).unwrap_err().contains("top-level"));
    }

    #[test]
    fn a_flow_list_is_rewritten_and_bad_yaml_is_located() {
        let mut d = YamlDoc::parse("read: [a.md]\nx: 1\n").unwrap();
        d.edit_array(&["read"], &[json!("b.md")], &[], &[json!("a.md"), json!("b.md")]).unwrap();
        assert_eq!(d.text(), "read:\n  - \"a.md\"\n  - \"b.md\"\nx: 1\n");
        let e = YamlDoc::parse("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        assert!(YamlDoc::parse("- a\n- b\n").is_err());
        assert!(YamlDoc::parse("# only a comment\n").unwrap().is_empty());
    }
}
