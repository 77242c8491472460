//! A source command (`commands/NAME.md`, Claude's format: YAML frontmatter with `description`
//! and `argument-hint`, `$ARGUMENTS` in the body) and its translations for clients that read
//! commands differently. Each client's format is rendered here once.

use crate::error::CliError;

/// How a file rendered from the tree names its source (an import skips such files).
pub const RENDERED_MARK: &str = "Rendered by aiorch from agentsmd/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `review`, or `git/review` for `commands/git/review.md`.
    pub name: String,
    /// Path inside the tree (`commands/review.md`).
    pub rel: String,
    pub description: String,
    pub argument_hint: Option<String>,
    pub body: String,
}

impl Command {
    pub fn parse(rel: &str, bytes: &[u8]) -> anyhow::Result<Command> {
        let text = std::str::from_utf8(bytes).map_err(|_| CliError::bad_input(format!("agentsmd/{rel}: not UTF-8")))?;
        let name = rel.trim_start_matches("commands/").trim_end_matches(".md").to_string();
        let (front, body) = match split_frontmatter(text) {
            Split::None => (Frontmatter::default(), text),
            Split::Closed { yaml, body } => (Frontmatter::parse(rel, yaml)?, body),
            Split::Unclosed => {
                return Err(CliError::bad_input(format!(
                    "agentsmd/{rel}:1:1: the frontmatter opened here is never closed by a `---` line"
                ))
                .into());
            }
        };
        let description = front
            .description
            .or_else(|| {
                body.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim().trim_start_matches('#').trim().to_string())
            })
            .unwrap_or_else(|| name.clone());
        let argument_hint = front.argument_hint.map(|h| match h {
            ArgumentHint::Text(s) => s,
            ArgumentHint::List(items) => format!("[{}]", items.join(", ")),
        });
        Ok(Command { name, rel: rel.to_string(), description, argument_hint, body: body.to_string() })
    }

    /// Gemini CLI: `commands/NAME.toml` with `prompt`, `{{args}}` in place of `$ARGUMENTS`.
    pub fn to_gemini_toml(&self) -> String {
        let prompt = self.body.replace("$ARGUMENTS", "{{args}}");
        let mut doc = toml_edit::DocumentMut::new();
        doc["description"] = toml_edit::value(self.description.as_str());
        let mut out = doc.to_string();
        out.push_str("prompt = ");
        out.push_str(&multiline_string(&prompt));
        out.push('\n');
        out
    }

    /// OpenCode: `commands/NAME.md` with the one frontmatter key both formats share
    /// (`description`; Claude's `allowed-tools` would mean nothing there), `$ARGUMENTS` as is.
    /// The provenance line is a YAML comment in the frontmatter: OpenCode sends the whole body
    /// as the prompt, so the body is the source's byte for byte.
    pub fn to_opencode(&self) -> String {
        format!(
            "---\n# {RENDERED_MARK}{}. Edit the source, then run `aiorch apply`.\ndescription: {}\n---\n{}",
            self.rel,
            yaml_string(&self.description),
            self.body
        )
    }

    /// Codex and Copilot read skills, not commands: `skills/NAME/SKILL.md` with `name` and
    /// `description`. A skill is invoked without arguments, so `$ARGUMENTS` becomes a pointer
    /// to what the user asked.
    pub fn to_skill(&self) -> String {
        let name = self.skill_name();
        let body = self.body.replace("$ARGUMENTS", "(the user's request)");
        format!(
            "---\nname: {name}\ndescription: {}\n---\n\
             <!-- {RENDERED_MARK}{}. Edit the source, then run `aiorch apply`. -->\n{body}",
            yaml_string(&self.description),
            self.rel
        )
    }

    /// Skill directories are flat: `git/review` → `git-review`.
    pub fn skill_name(&self) -> String {
        self.name.replace('/', "-")
    }
}

/// The frontmatter keys aiorch reads. Claude Code reads more (`allowed-tools`, `model`, …; see
/// docs/clients.md) and gets the source file as it is, so other keys are accepted and left alone
/// rather than rejected.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Frontmatter {
    description: Option<String>,
    #[serde(rename = "argument-hint")]
    argument_hint: Option<ArgumentHint>,
}

/// `argument-hint: "[file]"`, or unquoted `argument-hint: [file]` as in Claude Code's own
/// examples, which YAML reads as a list.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum ArgumentHint {
    Text(String),
    List(Vec<String>),
}

impl Frontmatter {
    /// `yaml` starts on line 2 of the file (after the opening `---`); errors name
    /// `agentsmd/REL:LINE:COL` in the file.
    fn parse(rel: &str, yaml: &str) -> anyhow::Result<Frontmatter> {
        serde_saphyr::from_str(yaml).map_err(|e| {
            use serde_saphyr::MessageFormatter as _;
            let msg: String = serde_saphyr::UserMessageFormatter
                .format_message(&e)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let at = match e.location() {
                Some(l) => format!("agentsmd/{rel}:{}:{}", l.line() + 1, l.column()),
                None => format!("agentsmd/{rel}"),
            };
            CliError::bad_input(format!("{at}: frontmatter: {msg}"))
                .hint(
                    "quote a value that starts with [ { * & ! | > % @ or contains \": \" \
                     (description: \"Review: the diff\")",
                )
                .into()
        })
    }
}

/// A command file cut at its frontmatter fences.
enum Split<'a> {
    /// The file does not start with a `---` line.
    None,
    /// The YAML between the `---` lines and the body after the closing one, byte for byte.
    Closed { yaml: &'a str, body: &'a str },
    /// A `---` line opens frontmatter that no `---` line closes.
    Unclosed,
}

fn split_frontmatter(text: &str) -> Split<'_> {
    let is_fence = |line: &str| line.trim_end_matches(['\n', '\r']).trim_end_matches([' ', '\t']) == "---";
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if is_fence(first) && first.ends_with('\n') => {}
        _ => return Split::None,
    }
    let yaml_start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut pos = yaml_start;
    for line in lines {
        if is_fence(line) {
            return Split::Closed { yaml: &text[yaml_start..pos], body: &text[pos + line.len()..] };
        }
        pos += line.len();
    }
    Split::Unclosed
}

/// A TOML multi-line string: literal (`'''`, no escapes to get wrong) when possible.
fn multiline_string(s: &str) -> String {
    if !s.contains("'''") && !s.contains('\r') {
        format!("'''\n{s}'''")
    } else {
        toml_edit::Value::from(s).to_string().trim().to_string()
    }
}

/// A YAML scalar that is always read back as this exact string.
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str =
        "---\ndescription: \"Review: the diff\"\nargument-hint: \"[path]\"\n---\nReview $ARGUMENTS now.\n";

    #[test]
    fn parses_frontmatter() {
        let c = Command::parse("commands/review.md", SRC.as_bytes()).unwrap();
        assert_eq!(c.description, "Review: the diff");
        assert_eq!(c.argument_hint.as_deref(), Some("[path]"));
        assert_eq!(c.body, "Review $ARGUMENTS now.\n");
    }

    fn parse(src: &str) -> Command {
        Command::parse("commands/x.md", src.as_bytes()).unwrap()
    }

    fn parse_err(src: &str) -> String {
        Command::parse("commands/x.md", src.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn block_scalars_are_read_as_yaml() {
        let c = parse(
            "---\ndescription: >-\n  Review the diff\n  by severity\n\
             argument-hint: |\n  [path]\n  [range]\n---\nbody\n",
        );
        assert_eq!(c.description, "Review the diff by severity");
        assert_eq!(c.argument_hint.as_deref(), Some("[path]\n[range]\n"));
        assert_eq!(c.body, "body\n");
        let c = parse("---\ndescription: |-\n  line one\n  line two\n---\n");
        assert_eq!(c.description, "line one\nline two");
        assert_eq!(c.body, "");
    }

    #[test]
    fn quoting_styles() {
        assert_eq!(parse("---\ndescription: 'it''s: fine'\n---\n").description, "it's: fine");
        assert_eq!(parse("---\ndescription: \"tab\\there \\\"q\\\"\"\n---\n").description, "tab\there \"q\"");
        assert_eq!(parse("---\ndescription: plain words # a comment\n---\n").description, "plain words");
        // Claude Code's own examples leave `[file]` unquoted, which YAML reads as a list.
        assert_eq!(parse("---\nargument-hint: [file]\n---\n").argument_hint.as_deref(), Some("[file]"));
    }

    #[test]
    fn other_claude_keys_are_accepted_and_the_body_is_kept_byte_for_byte() {
        let body = "\r\n# Title\r\n\tindented  \r\n---\r\ntrailing";
        let src =
            format!("---\r\ndescription: d\r\nallowed-tools: Bash(git diff:*), Read\r\nmodel: m\r\n---\r\n{body}");
        let c = parse(&src);
        assert_eq!((c.description.as_str(), c.body.as_str()), ("d", body));
    }

    #[test]
    fn no_frontmatter() {
        let c = parse("# Review the diff\n\nDo it.\n");
        assert_eq!((c.description.as_str(), c.argument_hint), ("Review the diff", None));
        assert_eq!(c.body, "# Review the diff\n\nDo it.\n");
        // A `---` that is not the whole first line is not a fence.
        assert_eq!(parse("--- not a fence\n").body, "--- not a fence\n");
        // Empty frontmatter, or frontmatter without a description: the first body line.
        let c = parse("---\n---\n\nFirst line\n");
        assert_eq!((c.description.as_str(), c.body.as_str()), ("First line", "\nFirst line\n"));
        assert_eq!(parse("---\n# only a comment\n---\n").description, "x");
    }

    #[test]
    fn unterminated_frontmatter_is_an_error() {
        let e = parse_err("---\ndescription: d\nbody\n");
        assert!(e.starts_with("agentsmd/commands/x.md:1:1: "), "{e}");
        assert!(e.contains("never closed"), "{e}");
    }

    #[test]
    fn bad_yaml_names_file_line_and_column() {
        // Line 3 of the file is the second frontmatter line.
        let e = parse_err("---\ndescription: d\nargument-hint: a: b\n---\nbody\n");
        assert!(e.starts_with("agentsmd/commands/x.md:3:17: frontmatter: mapping values"), "{e}");
        let e = parse_err("---\ndescription: d\ndescription: e\n---\n");
        assert!(e.starts_with("agentsmd/commands/x.md:3:1: frontmatter: duplicate"), "{e}");
        let e = parse_err("---\ndescription: {a: 1}\n---\n");
        assert!(e.starts_with("agentsmd/commands/x.md:2:14: frontmatter: "), "{e}");
        let e = parse_err("---\n- a list\n---\n");
        assert!(e.starts_with("agentsmd/commands/x.md:2:1: frontmatter: "), "{e}");
    }

    #[test]
    fn gemini_toml_round_trips() {
        let c = Command::parse("commands/review.md", SRC.as_bytes()).unwrap();
        let toml = c.to_gemini_toml();
        let v: toml::Table = toml::from_str(&toml).unwrap();
        assert_eq!(v["prompt"].as_str(), Some("Review {{args}} now.\n"));
        assert_eq!(v["description"].as_str(), Some("Review: the diff"));
    }

    #[test]
    fn awkward_prompts_still_round_trip() {
        let c = Command {
            name: "x".into(),
            rel: "commands/x.md".into(),
            description: "d".into(),
            argument_hint: None,
            body: "a ''' b \\n \"\"\" c\n".into(),
        };
        let v: toml::Table = toml::from_str(&c.to_gemini_toml()).unwrap();
        assert_eq!(v["prompt"].as_str(), Some("a ''' b \\n \"\"\" c\n"));
    }
}
