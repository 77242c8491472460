//! Format-preserving edits of JSON / JSONC config files.
//!
//! Files such as `~/.claude.json` or `~/.gemini/settings.json` are co-owned with other
//! programs and with the user, so we never re-serialise a whole document. Instead we parse the
//! text into a span index, splice new text into the exact byte ranges we change, and re-parse.
//! Every byte outside the edited ranges (comments, key order, whitespace, BOM, trailing
//! newline) survives untouched.

use serde_json::{Map, Value};

/// Deeper nesting is rejected so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 256;

/// A parse error with a 1-based line and column (in chars) of the offending byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl ParseError {
    fn at(text: &str, pos: usize, msg: impl Into<String>) -> Self {
        let before = &text.as_bytes()[..pos.min(text.len())];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let ls = before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        // Columns count chars, so skip UTF-8 continuation bytes.
        let col = before[ls..].iter().filter(|&&c| c & 0xC0 != 0x80).count() + 1;
        ParseError { line, col, msg: msg.into() }
    }
}

/// A parsed value and the byte range `start..end` of its source text.
#[derive(Debug, Clone)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    Scalar(Value),
}

#[derive(Debug, Clone)]
struct Member {
    key: String,
    key_start: usize,
    colon: usize,
    value: Node,
    /// Byte offset of the comma that follows this member, if any (may be a trailing comma).
    comma: Option<usize>,
}

impl Node {
    fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Object(ms) => {
                // Map::insert keeps the last duplicate, like JSON.parse and serde_json.
                let mut map = Map::new();
                for m in ms {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
            Kind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Scalar(v) => v.clone(),
        }
    }

    fn members(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(ms) => Some(ms),
            _ => None,
        }
    }

    /// The last occurrence of `key` (last one wins, as in every JSON reader).
    fn member(&self, key: &str) -> Option<&Member> {
        self.members()?.iter().rev().find(|m| m.key == key)
    }
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    /// Parses a whole document; `None` means it holds no value (only whitespace / comments).
    fn document(text: &str) -> Result<Option<Node>, ParseError> {
        let mut p = Parser { text, b: text.as_bytes(), pos: 0 };
        // Windows editors may prepend a BOM: skip it, but keep it in the text.
        if text.starts_with('\u{feff}') {
            p.pos = 3;
        }
        p.skip_trivia()?;
        if p.pos >= text.len() {
            return Ok(None);
        }
        if p.peek() != Some(b'{') {
            return Err(p.err(p.pos, "the root value must be an object"));
        }
        let root = p.value(0)?;
        p.skip_trivia()?;
        if p.pos < text.len() {
            return Err(p.err(p.pos, "unexpected content after the root object"));
        }
        Ok(Some(root))
    }

    fn err(&self, pos: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.text, pos, msg)
    }

    fn expected(&self, what: &str) -> ParseError {
        let found = match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_string(),
        };
        self.err(self.pos, format!("expected {what}, found {found}"))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(), self.b.get(self.pos + 1)) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    let rest = &self.b[self.pos..];
                    self.pos += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                }
                (Some(b'/'), Some(b'*')) => match self.b[self.pos + 2..].windows(2).position(|w| w == b"*/") {
                    Some(i) => self.pos += i + 4,
                    None => return Err(self.err(self.pos, "unterminated block comment")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        let start = self.pos;
        if depth >= MAX_DEPTH {
            return Err(self.err(start, "nesting too deep"));
        }
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Scalar(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Kind::Scalar(self.number()?),
            _ => Kind::Scalar(self.literal()?),
        };
        Ok(Node { start, end: self.pos, kind })
    }

    fn object(&mut self, depth: usize) -> Result<Kind, ParseError> {
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b'}') => break,
                Some(b'"') => {}
                _ => return Err(self.expected("a string key or '}'")),
            }
            let key_start = self.pos;
            let key = self.string()?;
            self.skip_trivia()?;
            if self.peek() != Some(b':') {
                return Err(self.expected("':'"));
            }
            let colon = self.pos;
            self.pos += 1;
            self.skip_trivia()?;
            let value = self.value(depth + 1)?;
            self.skip_trivia()?;
            let comma = (self.peek() == Some(b',')).then_some(self.pos);
            members.push(Member { key, key_start, colon, value, comma });
            if comma.is_some() {
                self.pos += 1; // a '}' may follow: trailing commas are fine in JSONC
            } else if self.peek() == Some(b'}') {
                break;
            } else {
                return Err(self.expected("',' or '}'"));
            }
        }
        self.pos += 1;
        Ok(Kind::Object(members))
    }

    fn array(&mut self, depth: usize) -> Result<Kind, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(b']') {
                break;
            }
            items.push(self.value(depth + 1)?);
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => break,
                _ => return Err(self.expected("',' or ']'")),
            }
        }
        self.pos += 1;
        Ok(Kind::Array(items))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        // Plain runs are copied as slices; they always end at an ASCII byte, so slicing
        // `text` there is on a char boundary.
        let mut run = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.pos]);
                    out.push(self.escape(start)?);
                    run = self.pos;
                }
                None | Some(b'\n' | b'\r') => return Err(self.err(start, "unterminated string")),
                Some(0..=0x1f) => return Err(self.err(self.pos, "control character in string")),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn escape(&mut self, string_start: usize) -> Result<char, ParseError> {
        let at = self.pos;
        let c = self.b.get(at + 1).copied();
        self.pos += 2;
        Ok(match c {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hi = self.hex4()?;
                let code = match hi {
                    0xD800..=0xDBFF if self.b.get(self.pos..self.pos + 2) == Some(b"\\u") => {
                        self.pos += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(self.err(at, "unpaired surrogate in \\u escape"));
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    _ => hi,
                };
                // Lone surrogates cannot be represented in a Rust String; refuse rather
                // than silently altering the user's data.
                char::from_u32(code).ok_or_else(|| self.err(at, "unpaired surrogate in \\u escape"))?
            }
            None => return Err(self.err(string_start, "unterminated string")),
            Some(_) => return Err(self.err(at, "invalid escape sequence")),
        })
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = self.peek().and_then(|c| (c as char).to_digit(16));
            n = n * 16 + d.ok_or_else(|| self.expected("a hex digit"))?;
            self.pos += 1;
        }
        Ok(n)
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits()?,
            _ => return Err(self.expected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        // Validated against the JSON grammar above; serde_json does the numeric conversion
        // so values compare equal to what serde_json itself would produce.
        let raw = &self.text[start..self.pos];
        raw.parse().map(Value::Number).map_err(|_| self.err(start, "number out of range"))
    }

    fn digits(&mut self) -> Result<(), ParseError> {
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Err(self.expected("a digit"));
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        Ok(())
    }

    fn literal(&mut self) -> Result<Value, ParseError> {
        for (word, v) in [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)] {
            if self.b[self.pos..].starts_with(word.as_bytes()) {
                self.pos += word.len();
                return Ok(v);
            }
        }
        Err(self.expected("a value"))
    }
}

fn is_hws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn line_start(b: &[u8], pos: usize) -> usize {
    b[..pos].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)
}

/// The leading spaces/tabs of the line containing `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let ls = line_start(text.as_bytes(), pos);
    let n = text.as_bytes()[ls..].iter().take_while(|&&c| is_hws(c)).count();
    &text[ls..ls + n]
}

fn first_on_line(b: &[u8], pos: usize) -> bool {
    b[line_start(b, pos)..pos].iter().all(|&c| is_hws(c))
}

fn skip_hws(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos).copied().is_some_and(is_hws) {
        pos += 1;
    }
    pos
}

/// Skips spaces, tabs and comments that stay on the current line; stops at the newline,
/// at other content, or before a block comment that spans lines.
fn skip_line_trivia(b: &[u8], mut pos: usize) -> usize {
    loop {
        pos = skip_hws(b, pos);
        let rest = &b[pos..];
        if rest.starts_with(b"//") {
            return pos + rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        }
        match rest.strip_prefix(b"/*").and_then(|r| r.windows(2).position(|w| w == b"*/")) {
            Some(i) if !rest[..i + 2].contains(&b'\n') => pos += i + 4,
            _ => return pos,
        }
    }
}

/// The comma that follows a value ending at `end` (after whitespace and comments), if any
/// before `close`.
fn comma_after(b: &[u8], mut pos: usize, close: usize) -> Option<usize> {
    while pos < close {
        match b[pos] {
            b',' => return Some(pos),
            c if c.is_ascii_whitespace() => pos += 1,
            b'/' if b.get(pos + 1) == Some(&b'/') => {
                pos += b[pos..].iter().position(|&c| c == b'\n').unwrap_or(b.len() - pos)
            }
            b'/' if b.get(pos + 1) == Some(&b'*') => {
                pos += 2 + b[pos + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |i| i + 2)
            }
            _ => return None,
        }
    }
    None
}

/// The indent unit, learned from the first member that starts its own line, relative to the
/// indentation of the line that opens its object.
fn detect_indent(text: &str, node: &Node) -> Option<String> {
    let children: Vec<&Node> = match &node.kind {
        Kind::Object(ms) => {
            let parent = line_indent(text, node.start);
            for m in ms.iter().filter(|m| first_on_line(text.as_bytes(), m.key_start)) {
                match line_indent(text, m.key_start).strip_prefix(parent) {
                    Some(u) if u.contains('\t') => return Some("\t".into()),
                    Some(u) if !u.is_empty() => return Some(u.to_string()),
                    _ => {}
                }
            }
            ms.iter().map(|m| &m.value).collect()
        }
        Kind::Array(items) => items.iter().collect(),
        Kind::Scalar(_) => return None,
    };
    children.into_iter().find_map(|c| detect_indent(text, c))
}

enum Style<'a> {
    /// Multi-line; `base` is the indentation of the line the value starts on.
    Pretty { unit: &'a str, base: &'a str, eol: &'a str },
    /// One line, `{"a": 1, "b": 2}` or (compact) `{"a":1,"b":2}`.
    Inline { compact: bool },
}

fn render(v: &Value, st: &Style, depth: usize, out: &mut String) {
    let (open, close, entries): (char, char, Vec<(Option<&str>, &Value)>) = match v {
        Value::Object(m) => ('{', '}', m.iter().map(|(k, v)| (Some(k.as_str()), v)).collect()),
        Value::Array(a) => ('[', ']', a.iter().map(|v| (None, v)).collect()),
        // Display of a Value is its JSON text, with strings properly escaped.
        _ => return out.push_str(&v.to_string()),
    };
    let newline = |out: &mut String, depth: usize| {
        if let Style::Pretty { unit, base, eol } = st {
            out.push_str(eol);
            out.push_str(base);
            out.push_str(&unit.repeat(depth));
        }
    };
    let compact = matches!(st, Style::Inline { compact: true });
    out.push(open);
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(if matches!(st, Style::Inline { compact: false }) { ", " } else { "," });
        }
        newline(out, depth + 1);
        if let Some(k) = k {
            out.push_str(&Value::from(*k).to_string());
            out.push_str(if compact { ":" } else { ": " });
        }
        render(v, st, depth + 1, out);
    }
    if !entries.is_empty() {
        newline(out, depth);
    }
    out.push(close);
}

/// `(start, end, replacement)`; a list of edits is sorted by position and applied back to front.
type Edit = (usize, usize, String);

enum SetPlan {
    Unchanged,
    Splice(Vec<Edit>),
    /// Both old and new values are objects: recurse key by key, then drop these stale keys.
    Merge(Vec<String>),
}

/// A JSON / JSONC document that can be edited without disturbing bytes it does not change.
#[derive(Debug, Clone)]
pub struct JsoncDoc {
    text: String,
    root: Option<Node>,
    indent: String,
    eol: &'static str,
}

impl JsoncDoc {
    /// Parse JSON or JSONC (// and /* */ comments, trailing commas allowed). Empty or
    /// whitespace-only text is treated as `{}`. The root must be an object, else ParseError.
    pub fn parse(text: &str) -> Result<JsoncDoc, ParseError> {
        let root = Parser::document(text)?;
        let indent = root.as_ref().and_then(|r| detect_indent(text, r)).unwrap_or_else(|| "  ".into());
        let eol = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Ok(JsoncDoc { text: text.to_string(), root, indent, eol })
    }

    /// The current value at a key path (object keys only), as serde_json::Value (comments dropped).
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        match &self.root {
            Some(root) => Some(path.iter().try_fold(root, |n, k| n.member(k).map(|m| &m.value))?.to_value()),
            None => path.is_empty().then(|| Value::Object(Map::new())),
        }
    }

    /// The full current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// serde_json::Value of the whole document (comments dropped).
    pub fn to_value(&self) -> Value {
        self.root.as_ref().map_or_else(|| Value::Object(Map::new()), Node::to_value)
    }

    /// Set the value at `path`, creating intermediate objects as needed. Existing members are
    /// replaced in place; new ones are appended to their parent object. Setting an object over
    /// an object merges key by key, so comments inside it survive. No-op if already equal.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Result<(), ParseError> {
        if self.get(path).as_ref() == Some(value) {
            return Ok(());
        }
        self.ensure_root()?;
        match self.plan_set(path, value)? {
            SetPlan::Unchanged => Ok(()),
            SetPlan::Splice(edits) => {
                let next = self.spliced(edits)?;
                if next.get(path).as_ref() != Some(value) {
                    return Err(self.internal("edit did not produce the requested value"));
                }
                *self = next;
                Ok(())
            }
            SetPlan::Merge(stale) => {
                // Several splices: restore the original on failure so `set` stays atomic.
                let backup = self.clone();
                let result = self.merge(path, value, &stale);
                if result.is_err() {
                    *self = backup;
                }
                result
            }
        }
    }

    /// Remove the member at `path` (with its comma and its own line, including a comment on
    /// that line). Every duplicate of the key is removed so the key is really gone. Returns
    /// whether something was removed; a parent left empty is kept (as `{}`).
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, ParseError> {
        let Some((key, parents)) = path.split_last() else {
            return Err(ParseError { line: 1, col: 1, msg: "cannot remove the root object".into() });
        };
        let count =
            self.object_at(parents).map_or(0, |o| o.members().unwrap_or(&[]).iter().filter(|m| m.key == *key).count());
        for _ in 0..count {
            let Some(obj) = self.object_at(parents) else {
                break;
            };
            let Some(i) = obj.members().and_then(|ms| ms.iter().rposition(|m| m.key == *key)) else {
                break;
            };
            let edits = self.remove_edits(obj, i);
            *self = self.spliced(edits)?;
        }
        if self.get(path).is_some() {
            return Err(self.internal("member still present after removal"));
        }
        Ok(count > 0)
    }

    /// Append `value` to the non-empty array at `path`, keeping every other byte (comments
    /// and layout inside the array included). Returns false, changing nothing, when there is no
    /// such non-empty array (the caller then sets the whole array).
    pub fn array_push(&mut self, path: &[&str], value: &Value) -> Result<bool, ParseError> {
        let Some(node) = self.node_at(path) else { return Ok(false) };
        let Kind::Array(items) = &node.kind else { return Ok(false) };
        let Some(last) = items.last() else { return Ok(false) };
        let (t, b, eol) = (self.text.as_str(), self.text.as_bytes(), self.eol);
        let (open, close) = (node.start, node.end - 1);
        let comma = comma_after(b, last.end, close);
        let mut edits: Vec<Edit> = vec![];
        if !b[open..close].contains(&b'\n') {
            // One line: `["a", "b"]` → `["a", "b", "c"]`, matching the spacing after commas.
            let compact = comma_after(b, items[0].end, close)
                .is_some_and(|c| items.len() > 1 && !b.get(c + 1).is_some_and(|x| x.is_ascii_whitespace()));
            let sp = if compact { "" } else { " " };
            let mut v = String::new();
            render(value, &Style::Inline { compact }, 0, &mut v);
            edits.push(match comma {
                Some(c) => (c + 1, c + 1, format!("{sp}{v},")),
                None => (last.end, last.end, format!(",{sp}{v}")),
            });
        } else {
            let parent_indent = line_indent(t, open);
            let indent = if first_on_line(b, last.start) {
                line_indent(t, last.start).to_string()
            } else {
                format!("{parent_indent}{}", self.indent)
            };
            let mut v = String::new();
            render(value, &Style::Pretty { unit: &self.indent, base: &indent, eol }, 0, &mut v);
            if comma.is_none() {
                edits.push((last.end, last.end, ",".into()));
            }
            let trailing = if comma.is_some() { "," } else { "" };
            let ls = line_start(b, close);
            if first_on_line(b, close) {
                // `]` on its own line: the new element goes on the line above it (after any
                // comments that end the array).
                edits.push((ls, ls, format!("{indent}{v}{trailing}{eol}")));
            } else {
                let mut ws = close;
                while ws > open + 1 && is_hws(b[ws - 1]) {
                    ws -= 1;
                }
                edits.push((ws, close, format!("{eol}{indent}{v}{trailing}")));
            }
        }
        let mut want = match node.to_value() {
            Value::Array(a) => a,
            _ => unreachable!("checked above"),
        };
        want.push(value.clone());
        let next = self.spliced(edits)?;
        if next.get(path) != Some(Value::Array(want)) {
            return Err(self.internal("array append did not produce the requested value"));
        }
        *self = next;
        Ok(true)
    }

    /// Remove every element equal to `value` from the array at `path`, each with its comma and
    /// its own line (a comment on that line included); everything else stays. Returns how many
    /// were removed.
    pub fn array_remove(&mut self, path: &[&str], value: &Value) -> Result<usize, ParseError> {
        let mut removed = 0;
        loop {
            let Some(node) = self.node_at(path) else { return Ok(removed) };
            let Kind::Array(items) = &node.kind else { return Ok(removed) };
            let Some(i) = items.iter().rposition(|n| n.to_value() == *value) else { return Ok(removed) };
            let edits = self.remove_element_edits(node, items, i);
            *self = self.spliced(edits)?;
            removed += 1;
        }
    }

    fn remove_element_edits(&self, node: &Node, items: &[Node], i: usize) -> Vec<Edit> {
        let b = self.text.as_bytes();
        let (open, close) = (node.start, node.end - 1);
        let el = &items[i];
        let comma = comma_after(b, el.end, close);
        let own_end = comma.map_or(el.end, |c| c + 1);
        let after = skip_line_trivia(b, own_end);
        let line_end = match (b.get(after), b.get(after + 1)) {
            (Some(b'\n'), _) => Some(after + 1),
            (Some(b'\r'), Some(b'\n')) => Some(after + 2),
            _ => None,
        };
        let prev_comma = i.checked_sub(1).and_then(|p| comma_after(b, items[p].end, close));
        let span = match line_end {
            Some(le) if first_on_line(b, el.start) => (line_start(b, el.start), le),
            _ if comma.is_some() => (el.start, skip_hws(b, own_end)),
            _ => {
                let floor = prev_comma.map_or(open + 1, |c| c + 1);
                let mut s = el.start;
                while s > floor && is_hws(b[s - 1]) {
                    s -= 1;
                }
                (s, el.end)
            }
        };
        if items.len() == 1 && b[open + 1..span.0].iter().chain(&b[span.1..close]).all(u8::is_ascii_whitespace) {
            return vec![(open + 1, close, String::new())];
        }
        let mut edits = vec![];
        // The last element without its own comma: the previous comma would dangle.
        if comma.is_none()
            && let Some(pc) = prev_comma
        {
            edits.push((pc, pc + 1, String::new()));
        }
        edits.push((span.0, span.1, String::new()));
        edits
    }

    /// Where the member at `path` starts (its key), as a byte offset: for messages that point
    /// the user at the line.
    pub fn key_offset(&self, path: &[&str]) -> Option<usize> {
        let (last, parents) = path.split_last()?;
        Some(self.object_at(parents)?.member(last)?.key_start)
    }

    fn node_at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self.root.as_ref()?, |n, k| n.member(k).map(|m| &m.value))
    }

    fn internal(&self, msg: &str) -> ParseError {
        ParseError { line: 1, col: 1, msg: format!("internal error: {msg}") }
    }

    fn object_at(&self, path: &[&str]) -> Option<&Node> {
        let node = path.iter().try_fold(self.root.as_ref()?, |n, k| n.member(k).map(|m| &m.value))?;
        node.members().map(|_| node)
    }

    /// A document without any value (empty, whitespace or comments only) gets a `{}` root,
    /// after any comments, so the normal insertion path can take over.
    fn ensure_root(&mut self) -> Result<(), ParseError> {
        if self.root.is_some() {
            return Ok(());
        }
        let bom = if self.text.starts_with('\u{feff}') { "\u{feff}" } else { "" };
        let eol = self.eol;
        let text = if self.text[bom.len()..].trim().is_empty() {
            format!("{bom}{{}}{eol}")
        } else {
            let sep = if self.text.ends_with('\n') { "" } else { eol };
            format!("{}{sep}{{}}{eol}", self.text)
        };
        self.root = Parser::document(&text)?;
        self.text = text;
        Ok(())
    }

    /// Applies edits to a copy and re-parses it, so spans are always fresh and an edit that
    /// would corrupt the file is reported instead of committed.
    fn spliced(&self, edits: Vec<Edit>) -> Result<JsoncDoc, ParseError> {
        let mut text = self.text.clone();
        for (s, e, new) in edits.into_iter().rev() {
            if s > e || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                return Err(self.internal("bad edit span"));
            }
            text.replace_range(s..e, &new);
        }
        let root = Parser::document(&text).map_err(|e| self.internal(&format!("edit produced invalid JSONC ({e})")))?;
        Ok(JsoncDoc { text, root, indent: self.indent.clone(), eol: self.eol })
    }

    fn plan_set(&self, path: &[&str], value: &Value) -> Result<SetPlan, ParseError> {
        let Some(mut node) = self.root.as_ref() else {
            return Err(self.internal("no root object"));
        };
        for (i, key) in path.iter().enumerate() {
            if node.members().is_none() {
                let msg = format!("cannot set {:?}: {:?} is not an object", path.join("."), path[..i].join("."));
                return Err(ParseError::at(&self.text, node.start, msg));
            }
            match node.member(key) {
                Some(m) => node = &m.value,
                None => {
                    let nested = path[i + 1..]
                        .iter()
                        .rev()
                        .fold(value.clone(), |acc, k| Value::Object(Map::from_iter([(k.to_string(), acc)])));
                    return Ok(SetPlan::Splice(self.insert_edits(node, key, &nested)));
                }
            }
        }
        if node.to_value() == *value {
            return Ok(SetPlan::Unchanged);
        }
        if let (Some(ms), Value::Object(new)) = (node.members(), value) {
            let mut stale: Vec<String> =
                ms.iter().filter(|m| !new.contains_key(&m.key)).map(|m| m.key.clone()).collect();
            stale.dedup();
            return Ok(SetPlan::Merge(stale));
        }
        if path.is_empty() {
            return Err(ParseError::at(&self.text, node.start, "the root value must be an object"));
        }
        let mut s = String::new();
        let style = Style::Pretty { unit: &self.indent, base: line_indent(&self.text, node.start), eol: self.eol };
        render(value, &style, 0, &mut s);
        Ok(SetPlan::Splice(vec![(node.start, node.end, s)]))
    }

    fn merge(&mut self, path: &[&str], value: &Value, stale: &[String]) -> Result<(), ParseError> {
        let Value::Object(new) = value else {
            return Err(self.internal("merge of a non-object"));
        };
        let mut sub = path.to_vec();
        for (k, v) in new {
            sub.push(k);
            self.set(&sub, v)?;
            sub.pop();
        }
        for k in stale {
            sub.push(k);
            self.remove(&sub)?;
            sub.pop();
        }
        Ok(())
    }

    /// Edits that append `"key": value` as the last member of `obj`.
    fn insert_edits(&self, obj: &Node, key: &str, value: &Value) -> Vec<Edit> {
        let (t, b, eol) = (self.text.as_str(), self.text.as_bytes(), self.eol);
        let ms = obj.members().unwrap_or(&[]);
        let (open, close) = (obj.start, obj.end - 1);
        let key_json = Value::from(key).to_string();
        // Keep the object's trailing-comma style: the new last member gets one too.
        let trailing = ms.last().is_some_and(|m| m.comma.is_some());

        // A non-empty one-line object stays on one line, matching `"k": v` vs `"k":v` spacing.
        if let Some(last) = ms.last()
            && !b[open..close].contains(&b'\n')
        {
            let compact = !b.get(last.colon + 1).is_some_and(|c| c.is_ascii_whitespace());
            let sp = if compact { "" } else { " " };
            let mut kv = format!("{key_json}:{sp}");
            render(value, &Style::Inline { compact }, 0, &mut kv);
            return vec![match last.comma {
                Some(c) => (c + 1, c + 1, format!("{sp}{kv},")),
                None => (last.value.end, last.value.end, format!(",{sp}{kv}")),
            }];
        }

        let parent_indent = line_indent(t, open);
        let indent = match ms.iter().rev().find(|m| first_on_line(b, m.key_start)) {
            Some(m) => line_indent(t, m.key_start).to_string(),
            None => format!("{parent_indent}{}", self.indent),
        };
        let mut member = format!("{key_json}: ");
        render(value, &Style::Pretty { unit: &self.indent, base: &indent, eol }, 0, &mut member);
        if trailing {
            member.push(',');
        }
        let mut edits = Vec::new();
        // The comma goes right after the previous value, so a `// comment` after it stays on
        // its own member's line.
        if let Some(last) = ms.last()
            && last.comma.is_none()
        {
            edits.push((last.value.end, last.value.end, ",".to_string()));
        }
        let ls = line_start(b, close);
        if ls > open && first_on_line(b, close) {
            // Usual case: `}` on its own line; the member goes on a new line just above it,
            // after any comments that end the object.
            edits.push((ls, ls, format!("{indent}{member}{eol}")));
        } else if ms.is_empty() && b[open + 1..close].iter().all(u8::is_ascii_whitespace) {
            // `{}` or `{ }`: open it up at the right depth.
            edits.push((open + 1, close, format!("{eol}{indent}{member}{eol}{parent_indent}")));
        } else {
            // `}` shares its line with earlier content: put the member on a line before it.
            let mut ws = close;
            while ws > open + 1 && is_hws(b[ws - 1]) {
                ws -= 1;
            }
            let tail = if ms.is_empty() { format!("{eol}{parent_indent}") } else { String::new() };
            edits.push((ws, close, format!("{eol}{indent}{member}{tail}")));
        }
        edits
    }

    /// Edits that delete member `i` of `obj`, fixing up commas.
    fn remove_edits(&self, obj: &Node, i: usize) -> Vec<Edit> {
        let b = self.text.as_bytes();
        let ms = obj.members().unwrap_or(&[]);
        let Some(m) = ms.get(i) else {
            return Vec::new();
        };
        let (open, close) = (obj.start, obj.end - 1);
        let own_end = m.comma.map_or(m.value.end, |c| c + 1);
        let after = skip_line_trivia(b, own_end);
        let line_end = match (b.get(after), b.get(after + 1)) {
            (None, _) => Some(b.len()),
            (Some(b'\n'), _) => Some(after + 1),
            (Some(b'\r'), Some(b'\n')) => Some(after + 2),
            _ => None,
        };
        let span = match line_end {
            // The member has its line(s) to itself: drop the whole lines, same-line comment included.
            Some(le) if first_on_line(b, m.key_start) => (line_start(b, m.key_start), le),
            // Shares a line with something else: drop just the member, its comma and the gap.
            _ if m.comma.is_some() => (m.key_start, skip_hws(b, own_end)),
            _ => {
                let floor = match i.checked_sub(1).and_then(|p| ms[p].comma) {
                    Some(c) => c + 1,
                    None => open + 1,
                };
                let mut s = m.key_start;
                while s > floor && is_hws(b[s - 1]) {
                    s -= 1;
                }
                (s, m.value.end)
            }
        };
        // The only member, with nothing but whitespace around it: leave a tidy `{}`.
        if ms.len() == 1 && b[open + 1..span.0].iter().chain(&b[span.1..close]).all(u8::is_ascii_whitespace) {
            return vec![(open + 1, close, String::new())];
        }
        let mut edits = Vec::new();
        // Removing the last member without its own comma: the previous member's comma would
        // become a trailing comma, which strict JSON forbids.
        if m.comma.is_none()
            && let Some(pc) = i.checked_sub(1).and_then(|p| ms[p].comma)
        {
            edits.push((pc, pc + 1, String::new()));
        }
        edits.push((span.0, span.1, String::new()));
        edits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(text: &str, path: &[&str], v: Value) -> String {
        let mut d = JsoncDoc::parse(text).unwrap();
        d.set(path, &v).unwrap();
        d.text().to_string()
    }

    fn remove(text: &str, path: &[&str]) -> String {
        let mut d = JsoncDoc::parse(text).unwrap();
        assert!(d.remove(path).unwrap());
        d.text().to_string()
    }

    fn err(text: &str) -> (usize, usize) {
        let e = JsoncDoc::parse(text).err().unwrap();
        (e.line, e.col)
    }

    fn push(text: &str, path: &[&str], v: Value) -> String {
        let mut d = JsoncDoc::parse(text).unwrap();
        assert!(d.array_push(path, &v).unwrap());
        d.text().to_string()
    }

    fn pull(text: &str, path: &[&str], v: Value) -> String {
        let mut d = JsoncDoc::parse(text).unwrap();
        d.array_remove(path, &v).unwrap();
        d.text().to_string()
    }

    #[test]
    fn array_push_keeps_layout_and_comments() {
        assert_eq!(push("{\"a\": [\"x\", \"y\"]}", &["a"], json!("z")), "{\"a\": [\"x\", \"y\", \"z\"]}");
        assert_eq!(push("{\"a\":[\"x\",\"y\"]}", &["a"], json!("z")), "{\"a\":[\"x\",\"y\",\"z\"]}");
        let multi = "{\n  \"a\": [\n    \"x\", // mine\n    \"y\" /* why */\n    // trailing note\n  ]\n}\n";
        assert_eq!(
            push(multi, &["a"], json!("z")),
            "{\n  \"a\": [\n    \"x\", // mine\n    \"y\", /* why */\n    // trailing note\n    \"z\"\n  ]\n}\n"
        );
        let trailing = "{\n  \"a\": [\n    \"x\",\n  ],\n}\n";
        assert_eq!(push(trailing, &["a"], json!("z")), "{\n  \"a\": [\n    \"x\",\n    \"z\",\n  ],\n}\n");
        let mut d = JsoncDoc::parse("{\"a\": []}").unwrap();
        assert!(!d.array_push(&["a"], &json!(1)).unwrap(), "empty arrays are left to `set`");
    }

    #[test]
    fn array_remove_keeps_the_rest() {
        let multi = "{\n  \"a\": [\n    \"x\", // mine\n    \"ours\", // aiorch's\n    \"y\"\n  ]\n}\n";
        assert_eq!(pull(multi, &["a"], json!("ours")), "{\n  \"a\": [\n    \"x\", // mine\n    \"y\"\n  ]\n}\n");
        let last = "{\n  \"a\": [\n    \"x\", // mine\n    \"ours\"\n  ]\n}\n";
        assert_eq!(pull(last, &["a"], json!("ours")), "{\n  \"a\": [\n    \"x\" // mine\n  ]\n}\n");
        assert_eq!(pull("{\"a\": [\"ours\", \"x\", \"ours\"]}", &["a"], json!("ours")), "{\"a\": [\"x\"]}");
        assert_eq!(pull("{\"a\": [\"x\", \"ours\"]}", &["a"], json!("ours")), "{\"a\": [\"x\"]}");
        assert_eq!(pull("{\"a\": [\"ours\"]}", &["a"], json!("ours")), "{\"a\": []}");
        assert_eq!(pull("{\"a\": [\"x\"]}", &["a"], json!("ours")), "{\"a\": [\"x\"]}");
    }

    #[test]
    fn set_into_empty_text() {
        assert_eq!(set("", &["a"], json!(1)), "{\n  \"a\": 1\n}\n");
        assert_eq!(set("  \n", &["a"], json!(1)), "{\n  \"a\": 1\n}\n");
        assert_eq!(set("{}", &["a"], json!(1)), "{\n  \"a\": 1\n}");
        assert_eq!(set("{}\n", &["a"], json!({"b": [1]})), "{\n  \"a\": {\n    \"b\": [\n      1\n    ]\n  }\n}\n");
        assert_eq!(set("// mine\n", &["a"], json!(1)), "// mine\n{\n  \"a\": 1\n}\n");
        assert_eq!(JsoncDoc::parse("").unwrap().to_value(), json!({}));
        // Setting `{}` on an empty file is already equal: nothing is written.
        assert_eq!(set("", &[], json!({})), "");
    }

    #[test]
    fn set_creates_nested_parents() {
        let t = "{\n    \"x\": true,\n    \"mcpServers\": {}\n}\n";
        let out = set(t, &["mcpServers", "ctx", "env", "K"], json!("v"));
        assert_eq!(
            out,
            "{\n    \"x\": true,\n    \"mcpServers\": {\n        \"ctx\": {\n            \"env\": {\
             \n                \"K\": \"v\"\n            }\n        }\n    }\n}\n"
        );
        let out = set(t, &["new", "deep"], json!([]));
        assert_eq!(
            out,
            "{\n    \"x\": true,\n    \"mcpServers\": {},\n    \"new\": {\n        \"deep\": []\n    }\n}\n"
        );
    }

    const COMMENTED: &str = "// settings\n{\n  /* theme */ \"theme\": \"dark\", // keep dark\
                             \n  \"model\": \"opus\" // the model\n  // end of members\n}\n";

    #[test]
    fn replace_keeps_comments() {
        let out = set(COMMENTED, &["model"], json!("sonnet"));
        assert_eq!(out, COMMENTED.replace("\"opus\"", "\"sonnet\""));
        let out = set(COMMENTED, &["theme"], json!({"a": 1}));
        assert_eq!(out, COMMENTED.replace("\"dark\"", "{\n    \"a\": 1\n  }"));
        // A new member goes after the last comment; the comma sits right after the old value.
        let out = set(COMMENTED, &["new"], json!(null));
        assert_eq!(
            out,
            "// settings\n{\n  /* theme */ \"theme\": \"dark\", // keep dark\n  \"model\": \"opus\", // the model\
             \n  // end of members\n  \"new\": null\n}\n"
        );
    }

    #[test]
    fn set_equal_value_is_byte_identical() {
        let t = "{ \"a\" : 1.50, \"o\": {\n // c\n \"k\": [1, 2,], },\n}";
        for (p, v) in
            [(&["a"][..], json!(1.5)), (&["o"], json!({"k": [1, 2]})), (&[], json!({"a": 1.5, "o": {"k": [1, 2]}}))]
        {
            assert_eq!(set(t, p, v), t);
        }
    }

    #[test]
    fn set_object_over_object_merges() {
        let t = "{\n  \"s\": {\n    // why a\n    \"a\": 1,\n    \"b\": 2\n  }\n}";
        let out = set(t, &["s"], json!({"a": 1, "c": 3}));
        assert_eq!(out, "{\n  \"s\": {\n    // why a\n    \"a\": 1,\n    \"c\": 3\n  }\n}");
        let mut d = JsoncDoc::parse(t).unwrap();
        assert!(d.set(&[], &json!(3)).is_err());
        assert!(d.set(&["s", "a", "deeper"], &json!(3)).is_err());
        assert_eq!(d.text(), t);
    }

    #[test]
    fn remove_first_middle_last() {
        let t = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}\n";
        for (k, want) in [
            ("a", "{\n  \"b\": 2,\n  \"c\": 3\n}\n"),
            ("b", "{\n  \"a\": 1,\n  \"c\": 3\n}\n"),
            ("c", "{\n  \"a\": 1,\n  \"b\": 2\n}\n"),
        ] {
            let out = remove(t, &[k]);
            assert_eq!(out, want);
            serde_json::from_str::<Value>(&out).unwrap();
        }
        let inline = "{\"a\": 1, \"b\": {\"x\": 1}, \"c\": 3}";
        assert_eq!(remove(inline, &["a"]), "{\"b\": {\"x\": 1}, \"c\": 3}");
        assert_eq!(remove(inline, &["b"]), "{\"a\": 1, \"c\": 3}");
        assert_eq!(remove(inline, &["c"]), "{\"a\": 1, \"b\": {\"x\": 1}}");
        assert_eq!(remove(inline, &["b", "x"]), "{\"a\": 1, \"b\": {}, \"c\": 3}");
        // Comments of neighbours survive; the removed member's own line comment goes with it.
        let out = remove(COMMENTED, &["model"]);
        assert_eq!(out, "// settings\n{\n  /* theme */ \"theme\": \"dark\" // keep dark\n  // end of members\n}\n");
        let mut d = JsoncDoc::parse(t).unwrap();
        assert!(!d.remove(&["zz"]).unwrap());
        assert!(!d.remove(&["a", "x"]).unwrap());
        assert!(d.remove(&[]).is_err());
        assert_eq!(d.text(), t);
    }

    #[test]
    fn remove_only_member_keeps_parent() {
        assert_eq!(remove("{\n  \"a\": 1\n}\n", &["a"]), "{}\n");
        let t = "{\n  \"env\": {\n    \"K\": \"v\"\n  },\n  \"z\": 0\n}";
        let out = remove(t, &["env", "K"]);
        assert_eq!(out, "{\n  \"env\": {},\n  \"z\": 0\n}");
        // A comment inside keeps the object open rather than being dropped.
        let out = remove("{\"o\": {\n  // note\n  \"k\": 1\n}}", &["o", "k"]);
        assert_eq!(out, "{\"o\": {\n  // note\n}}");
        JsoncDoc::parse(&out).unwrap();
    }

    #[test]
    fn trailing_commas() {
        let t = "{\n  \"a\": 1,\n  \"b\": [1, 2,],\n}\n";
        assert_eq!(JsoncDoc::parse(t).unwrap().get(&["b"]), Some(json!([1, 2])));
        assert_eq!(set(t, &["c"], json!(3)), "{\n  \"a\": 1,\n  \"b\": [1, 2,],\n  \"c\": 3,\n}\n");
        assert_eq!(remove(t, &["b"]), "{\n  \"a\": 1,\n}\n");
        assert_eq!(remove(t, &["a"]), "{\n  \"b\": [1, 2,],\n}\n");
        assert_eq!(set("{\"a\":1,}", &["b"], json!({"x": [true]})), "{\"a\":1,\"b\":{\"x\":[true]},}");
        assert!(JsoncDoc::parse("{\"a\": [,]}").is_err());
        assert!(JsoncDoc::parse("{,}").is_err());
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let t = "{\r\n  \"a\": 1, // c\r\n  \"o\": {}\r\n}\r\n";
        let mut d = JsoncDoc::parse(t).unwrap();
        d.set(&["o", "k"], &json!([1])).unwrap();
        d.set(&["b"], &json!(2)).unwrap();
        assert_eq!(
            d.text(),
            "{\r\n  \"a\": 1, // c\r\n  \"o\": {\r\n    \"k\": [\r\n      1\r\n    ]\r\n  },\r\n  \"b\": 2\r\n}\r\n"
        );
        d.remove(&["a"]).unwrap();
        d.remove(&["o"]).unwrap();
        assert_eq!(d.text(), "{\r\n  \"b\": 2\r\n}\r\n");
    }

    #[test]
    fn tab_indented_files() {
        let t = "{\n\t\"a\": {\n\t\t\"x\": 1\n\t}\n}";
        assert_eq!(
            set(t, &["a", "y"], json!({"z": 2})),
            "{\n\t\"a\": {\n\t\t\"x\": 1,\n\t\t\"y\": {\n\t\t\t\"z\": 2\n\t\t}\n\t}\n}"
        );
        assert_eq!(set(t, &["b"], json!([1])), "{\n\t\"a\": {\n\t\t\"x\": 1\n\t},\n\t\"b\": [\n\t\t1\n\t]\n}");
    }

    #[test]
    fn unicode_and_escapes() {
        let t = "{\"caf\\u00e9\": \"\\ud83c\\udf89 \\\"q\\\" \\\\ \\/ \\n\", \"日本\": \"語\"}";
        let d = JsoncDoc::parse(t).unwrap();
        assert_eq!(d.get(&["café"]), Some(json!("🎉 \"q\" \\ / \n")));
        assert_eq!(d.get(&["日本"]), Some(json!("語")));
        let out = set(t, &["ключ \"x\""], json!("значение\t🎉"));
        assert!(out.ends_with(", \"ключ \\\"x\\\"\": \"значение\\t🎉\"}"), "{out}");
        assert_eq!(set(t, &["日本"], json!("ok")), t.replace("\"語\"", "\"ok\""));
        for bad in [
            "{\"a\": \"\\ud800\"}",
            "{\"a\": \"\\udc00\"}",
            "{\"a\": \"\\ud800\\u0041\"}",
            "{\"a\": \"\\x\"}",
            "{\"a\": \"\\u12g4\"}",
        ] {
            assert!(JsoncDoc::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_and_literals() {
        let d = JsoncDoc::parse("{\"n\": [0, -1, 1.5e3, -0.25E-2, 18446744073709551615, true, false, null]}").unwrap();
        assert_eq!(d.to_value(), json!({"n": [0, -1, 1500.0, -0.0025, 18446744073709551615u64, true, false, null]}));
        for bad in [
            "{\"n\": 01}",
            "{\"n\": 1.}",
            "{\"n\": -}",
            "{\"n\": +1}",
            "{\"n\": 1e}",
            "{\"n\": tru}",
            "{\"n\": 1e400}",
            "[1]",
            "\"s\"",
        ] {
            assert!(JsoncDoc::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let t = "{\"a\": 1, \"b\": 0, \"a\": 2}";
        assert_eq!(JsoncDoc::parse(t).unwrap().get(&["a"]), Some(json!(2)));
        assert_eq!(set(t, &["a"], json!(3)), "{\"a\": 1, \"b\": 0, \"a\": 3}");
        assert_eq!(remove(t, &["a"]), "{\"b\": 0}");
    }

    #[test]
    fn inline_and_odd_layouts() {
        assert_eq!(set("{\"a\":1}", &["b"], json!({"c": [1, "x"]})), "{\"a\":1,\"b\":{\"c\":[1,\"x\"]}}");
        assert_eq!(set("{ \"a\": 1 }", &["b"], json!({"c": [1, 2]})), "{ \"a\": 1, \"b\": {\"c\": [1, 2]} }");
        assert_eq!(set("{\n  \"a\": 1}", &["b"], json!(2)), "{\n  \"a\": 1,\n  \"b\": 2}");
        assert_eq!(set("{\n  \"e\": { }\n}", &["e", "k"], json!(1)), "{\n  \"e\": {\n    \"k\": 1\n  }\n}");
        assert_eq!(set("{\n  \"e\": {\n  }\n}", &["e", "k"], json!(1)), "{\n  \"e\": {\n    \"k\": 1\n  }\n}");
        assert_eq!(set("{ /* c */ }", &["k"], json!(1)), "{ /* c */\n  \"k\": 1\n}");
        assert_eq!(set("\u{feff}{}\n", &["k"], json!(1)), "\u{feff}{\n  \"k\": 1\n}\n");
    }

    #[test]
    fn error_positions() {
        assert_eq!(err("{\n  \"a\": 1\n  \"b\": 2\n}"), (3, 3)); // missing comma: at "b"
        assert_eq!(err("{\n  \"a\" 1\n}"), (2, 7)); // missing colon: at 1
        assert_eq!(err("{\n  \"ä\": \"x\n}"), (2, 8)); // unterminated string: at its opening quote
        assert_eq!(err("{\"a\": \"x"), (1, 7));
        assert_eq!(err("{}\n  x"), (2, 3)); // trailing garbage
        assert_eq!(err("{} {}"), (1, 4));
        assert_eq!(err("{\"日本語\": 1 /* open"), (1, 11)); // unterminated comment, col in chars
        assert_eq!(err("{\"a\": 1"), (1, 8)); // unexpected end of input
        assert_eq!(err("\n[1]"), (2, 1)); // root not an object
        let e = JsoncDoc::parse("{\"a\": 1 \"b\": 2}").err().unwrap();
        assert_eq!(e.to_string(), "1:9: expected ',' or '}', found '\"'");
        let e = JsoncDoc::parse("{\"a\": 1}").unwrap().set(&["a", "b"], &json!(1)).err().unwrap();
        assert_eq!((e.line, e.col), (1, 7));
    }

    const CLAUDE: &str = r#"{
  "numStartups": 42,
  "installMethod": "native",
  "autoUpdates": false,
  "theme": "dark",
  "userID": "0f3c9a7e",
  "tipsHistory": {
    "new-user-warmup": 1,
    "memory-command": 12
  },
  "projects": {
    "/home/me/app": {
      "allowedTools": [],
      "history": [
        {
          "display": "fix the build",
          "pastedContents": {}
        }
      ],
      "mcpServers": {},
      "hasTrustDialogAccepted": true
    }
  },
  "mcpServers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {}
    }
  },
  "hasCompletedOnboarding": true
}
"#;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const WORDS: [&str; 6] = ["a", "env", "ключ", "q\"\\/", "🎉", "args"];

    fn random_value(r: &mut Rng, depth: usize) -> Value {
        match r.below(if depth > 2 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(r.below(2) == 1),
            2 => json!(r.below(2000) as i64 - 1000),
            3 => json!(r.below(100) as f64 / 8.0),
            4 => json!(format!("{} \n\t{}", WORDS[r.below(6)], WORDS[r.below(6)])),
            5 => Value::Array((0..r.below(3)).map(|_| random_value(r, depth + 1)).collect()),
            _ => Value::Object(
                (0..r.below(4)).map(|_| (WORDS[r.below(6)].to_string(), random_value(r, depth + 1))).collect(),
            ),
        }
    }

    fn model_set(root: &mut Value, path: &[&str], v: &Value) -> bool {
        let mut cur = root;
        for k in &path[..path.len() - 1] {
            let Value::Object(m) = cur else { return false };
            cur = m.entry(*k).or_insert_with(|| json!({}));
        }
        let Value::Object(m) = cur else { return false };
        m.insert(path[path.len() - 1].to_string(), v.clone());
        true
    }

    fn model_remove(root: &mut Value, path: &[&str]) -> bool {
        let mut cur = root;
        for k in &path[..path.len() - 1] {
            match cur.get_mut(*k) {
                Some(v) => cur = v,
                None => return false,
            }
        }
        cur.as_object_mut().is_some_and(|m| m.shift_remove(path[path.len() - 1]).is_some())
    }

    /// Source text of each top-level member, from its key to the end of its value.
    fn top_level_spans(d: &JsoncDoc) -> Vec<(String, String)> {
        let root = d.root.as_ref().unwrap();
        root.members().unwrap().iter().map(|m| (m.key.clone(), d.text[m.key_start..m.value.end].to_string())).collect()
    }

    #[test]
    fn random_edit_sequences_match_serde_model() {
        let paths: [&[&str]; 12] = [
            &["mcpServers", "aiorch"],
            &["mcpServers", "github"],
            &["mcpServers", "github", "env", "GITHUB_TOKEN"],
            &["mcpServers", "github", "args"],
            &["projects", "/home/me/app", "mcpServers", "ctx"],
            &["projects", "/home/me/app", "allowedTools"],
            &["hasCompletedOnboarding"],
            &["aiorch", "managed", "ключ"],
            &["aiorch"],
            &["numStartups"],
            &["numStartups", "x"],
            &["theme"],
        ];
        let jsonc = CLAUDE
            .replace("  \"theme\": \"dark\",", "  // user's pick\n  \"theme\": /* inline */ \"dark\", // dark!")
            .replace(
                "\"hasCompletedOnboarding\": true\n",
                "\"hasCompletedOnboarding\": true, // trailing comma\n/* footer */\n",
            )
            .replace("      \"env\": {}\n", "      \"env\": {},\n");
        let crlf_tabs = CLAUDE.replace("  ", "\t").replace('\n', "\r\n");
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        for (variant, strict) in [(CLAUDE.to_string(), true), (jsonc, false), (crlf_tabs, true)] {
            for _ in 0..40 {
                let mut d = JsoncDoc::parse(&variant).unwrap();
                let mut model: Value = d.to_value();
                let before = top_level_spans(&d);
                let mut touched = Vec::new();
                for _ in 0..1 + r.below(6) {
                    let path = paths[r.below(paths.len())];
                    touched.push(path[0]);
                    if r.below(3) == 0 {
                        assert_eq!(d.remove(path).unwrap(), model_remove(&mut model, path), "{path:?}");
                    } else {
                        let v = random_value(&mut r, 0);
                        let (was, equal) = (d.text().to_string(), d.get(path).as_ref() == Some(&v));
                        assert_eq!(d.set(path, &v).is_ok(), model_set(&mut model, path, &v), "{path:?}");
                        if equal {
                            assert_eq!(d.text(), was, "equal set must not change text");
                        }
                    }
                    assert_eq!(d.to_value(), model);
                    assert_eq!(JsoncDoc::parse(d.text()).unwrap().to_value(), model);
                    if strict {
                        assert_eq!(serde_json::from_str::<Value>(d.text()).unwrap(), model, "{}", d.text());
                    }
                    if variant.contains('\r') {
                        assert!(!d.text().replace("\r\n", "").contains('\n'), "bare LF in {:?}", d.text());
                    }
                }
                let after = top_level_spans(&d);
                for (k, src) in before.iter().filter(|(k, _)| !touched.contains(&k.as_str())) {
                    assert!(after.contains(&(k.clone(), src.clone())), "{k} changed:\n{}", d.text());
                }
            }
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let mut r = Rng(42);
        let alphabet = b"{}[]\":,/*\\ \n\r\t01-.eEtrufnalsu\xc3\xa9\xff";
        for _ in 0..3000 {
            let bytes: Vec<u8> = (0..r.below(40)).map(|_| alphabet[r.below(alphabet.len())]).collect();
            let _ = JsoncDoc::parse(&String::from_utf8_lossy(&bytes));
        }
        // Mutated real documents reach deeper states; any doc that parses must stay editable.
        let mut parsed = 0;
        for _ in 0..1500 {
            let mut bytes = CLAUDE.as_bytes().to_vec();
            for _ in 0..1 + r.below(3) {
                let at = r.below(bytes.len() + 1);
                if r.below(2) == 0 && at < bytes.len() {
                    bytes.remove(at);
                } else {
                    bytes.insert(at, alphabet[r.below(alphabet.len())]);
                }
            }
            let Ok(mut d) = JsoncDoc::parse(&String::from_utf8_lossy(&bytes)) else {
                continue;
            };
            parsed += 1;
            let key = ["mcpServers", "projects", "theme", "zz"][r.below(4)];
            if d.set(&[key, "aiorch"], &json!({"x": 1})).is_ok() {
                assert_eq!(d.get(&[key, "aiorch", "x"]), Some(json!(1)));
            }
            let _ = d.remove(&[key, "github"]);
            let _ = d.remove(&[key]);
            assert_eq!(JsoncDoc::parse(d.text()).unwrap().to_value(), d.to_value());
        }
        assert!(parsed > 300, "only {parsed} mutants parsed");
        assert!(JsoncDoc::parse(&"[".repeat(100_000)).is_err());
        assert!(JsoncDoc::parse(&format!("{{\"a\":{}", "[".repeat(100_000))).is_err());
    }

    #[test]
    /// Odd layouts (minified, spaced, comments, trailing commas) perturbed by whitespace,
    /// comma and comment bytes, then edited at random and checked against the serde model.
    fn random_layouts_match_serde_model() {
        let mut r = Rng(7);
        let ws = b" \n\t\r,/*";
        let srcs = [
            CLAUDE.to_string(),
            COMMENTED.to_string(),
            "{\"a\":1,\"b\":{\"c\":[1,2],\"d\":{}},\"e\":\"x\"}".to_string(),
            "{ \"a\" : 1 , /* x */ \"b\" : { \"c\" : 2 } , }".to_string(),
        ];
        let keys = ["a", "b", "c", "d", "e", "theme", "model", "mcpServers", "github", "new"];
        let mut ok = 0;
        for _ in 0..4000 {
            let mut bytes = srcs[r.below(srcs.len())].as_bytes().to_vec();
            for _ in 0..r.below(4) {
                let at = r.below(bytes.len() + 1);
                if r.below(2) == 0 && at < bytes.len() {
                    bytes.remove(at);
                } else {
                    bytes.insert(at, ws[r.below(ws.len())]);
                }
            }
            let text = String::from_utf8_lossy(&bytes).to_string();
            let Ok(mut d) = JsoncDoc::parse(&text) else {
                continue;
            };
            ok += 1;
            let strict = serde_json::from_str::<Value>(&text).is_ok();
            let mut model = d.to_value();
            for _ in 0..4 {
                let n = 1 + r.below(3);
                let path: Vec<&str> = (0..n).map(|_| keys[r.below(keys.len())]).collect();
                if r.below(3) == 0 {
                    assert_eq!(d.remove(&path).unwrap(), model_remove(&mut model, &path), "{text:?} {path:?}");
                } else {
                    let v = random_value(&mut r, 1);
                    let res = d.set(&path, &v);
                    assert_eq!(res.is_ok(), model_set(&mut model, &path, &v), "{text:?} {path:?} {res:?}");
                }
                assert_eq!(d.to_value(), model, "{text:?}\n{}", d.text());
                if strict {
                    assert_eq!(serde_json::from_str::<Value>(d.text()).unwrap(), model, "{text:?}\n{}", d.text());
                }
            }
        }
        assert!(ok > 500, "only {ok} parsed");
    }
}
