//! A source command (`commands/NAME.md`, Claude's format: YAML frontmatter with `description`
//! and `argument-hint`, `$ARGUMENTS` in the body) and its translations for clients that read
//! commands differently. Each client's format is rendered here once.

use crate::error::CliError;

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
        let (front, body) = split_frontmatter(text);
        let mut description = None;
        let mut argument_hint = None;
        for line in front.lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = unquote(v.trim());
            match k.trim() {
                "description" => description = Some(v),
                "argument-hint" => argument_hint = Some(v),
                _ => {}
            }
        }
        let description = description
            .or_else(|| {
                body.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim().trim_start_matches('#').trim().to_string())
            })
            .unwrap_or_else(|| name.clone());
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

    /// Codex and Copilot read skills, not commands: `skills/NAME/SKILL.md` with `name` and
    /// `description`. A skill is invoked without arguments, so `$ARGUMENTS` becomes a pointer
    /// to what the user asked.
    pub fn to_skill(&self) -> String {
        let name = self.skill_name();
        let body = self.body.replace("$ARGUMENTS", "(the user's request)");
        format!(
            "---\nname: {name}\ndescription: {}\n---\n<!-- Rendered by aiorch from agentsmd/{}. Edit the source, then run `aiorch apply`. -->\n{body}",
            yaml_string(&self.description),
            self.rel
        )
    }

    /// Skill directories are flat: `git/review` → `git-review`.
    pub fn skill_name(&self) -> String {
        self.name.replace('/', "-")
    }
}

fn split_frontmatter(text: &str) -> (&str, &str) {
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else { return ("", text) };
    match rest.find("\n---") {
        Some(end) => {
            let after = &rest[end + 4..];
            let body = after.split_once('\n').map_or("", |(_, b)| b);
            (&rest[..end], body)
        }
        None => ("", text),
    }
}

fn unquote(v: &str) -> String {
    if v.len() >= 2 && (v.starts_with('"') && v.ends_with('"')) {
        serde_json::from_str(v).unwrap_or_else(|_| v[1..v.len() - 1].to_string())
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        v.to_string()
    }
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
