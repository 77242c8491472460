//! User-facing errors: every failure carries the exit code it maps to, the error that caused it
//! (printed as a chain), and, where we can name one, a hint that says what to do next (jj's
//! `CommandError { kind, hints }` shape).

use std::fmt;
use std::io;
use std::path::Path;

/// Exit codes of the CLI contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// A check found problems (doctor, `apply --check` drift) or an operation failed.
    Failed = 1,
    /// Bad input or usage: unparseable files, unknown keys, bad arguments.
    BadInput = 2,
}

#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    pub hints: Vec<String>,
    source: Option<anyhow::Error>,
}

impl CliError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        CliError { exit: Exit::BadInput, message: message.into(), hints: vec![], source: None }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        CliError { exit: Exit::Failed, message: message.into(), hints: vec![], source: None }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
    /// The error underneath: printed after the message as `caused by: …`.
    pub fn caused_by(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }
    /// A file could not be read or written: names the file, the cause, and — for permission
    /// problems and read-only file systems, which the user has to fix — what to do.
    pub fn io(what: &str, path: &Path, shown: &str, e: io::Error) -> Self {
        let hint = io_hint(what, path, shown, &e);
        let err = CliError::failed(format!("cannot {what} {shown}: {}", io_reason(&e)));
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

/// The reason of an I/O error without the path a library may have appended (the message
/// names the path the user knows, never a temporary file).
fn io_reason(e: &io::Error) -> String {
    // A bare OS error prints as itself; fs-err and tempfile wrap theirs in a message that
    // repeats the (temporary) path, so for the kinds users must act on say only the kind.
    match e.kind() {
        _ if e.raw_os_error().is_some() => e.to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::ReadOnlyFilesystem => "read-only file system".into(),
        _ => e.to_string(),
    }
}

fn io_hint(what: &str, path: &Path, shown: &str, e: &io::Error) -> Option<String> {
    let dir = path.parent().map_or_else(|| shown.to_string(), |d| d.display().to_string());
    let verb = what.split_whitespace().next().unwrap_or("use");
    match e.kind() {
        io::ErrorKind::PermissionDenied => Some(format!(
            "your user may not {verb} it: `ls -ld {dir} {}` shows the owners and modes to fix",
            path.display()
        )),
        io::ErrorKind::ReadOnlyFilesystem => Some(format!(
            "{dir} is on a read-only file system (is it a link into the Nix store?): \
             manage that file through your Nix config instead"
        )),
        _ => None,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// How an error reads on the terminal: the message, the chain of causes, and the hints of
/// every `CliError` in it (outermost first). The exit code is the outermost `CliError`'s;
/// anything else is a failure (1).
pub struct Report {
    pub exit: Exit,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

impl Report {
    pub fn of(e: &anyhow::Error) -> Report {
        let mut chain = e.chain();
        let message = chain.next().map(ToString::to_string).unwrap_or_default();
        let causes = chain.map(ToString::to_string).collect();
        let mut exit = None;
        let mut hints = vec![];
        for c in e.chain() {
            if let Some(c) = c.downcast_ref::<CliError>() {
                exit.get_or_insert(c.exit);
                hints.extend(c.hints.iter().cloned());
            }
        }
        if hints.is_empty()
            && let Some(io) = e.chain().find_map(|c| c.downcast_ref::<io::Error>())
            && matches!(io.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem)
        {
            hints.push("check the owner and mode of the file named above (`ls -l`) and of its directory".into());
        }
        Report { exit: exit.unwrap_or(Exit::Failed), message, causes, hints }
    }
}

/// One line for an error where there is room for only one (a doctor check, an MCP result):
/// a `CliError`'s message, or the whole chain.
pub fn summary(e: &anyhow::Error) -> String {
    e.downcast_ref::<CliError>().map_or_else(|| format!("{e:#}"), |c| c.message.clone())
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("local_onyl", ["local_only", "enable"]), Some("local_only"));
        assert_eq!(did_you_mean("zzz", ["local_only", "enable"]), None);
    }

    #[test]
    fn report_keeps_the_chain_hints_and_the_outer_exit() {
        let inner = CliError::bad_input("inner").hint("fix the inner thing");
        let outer = CliError::failed("outer").hint("then the outer").caused_by(inner);
        let r = Report::of(&anyhow::Error::new(outer));
        assert_eq!(r.message, "outer");
        assert_eq!(r.causes, ["inner"]);
        assert_eq!(r.hints, ["then the outer", "fix the inner thing"]);
        assert_eq!(r.exit, Exit::Failed);
    }

    #[test]
    fn io_errors_name_the_target_not_the_temp_file() {
        let e = io::Error::new(io::ErrorKind::PermissionDenied, "Permission denied at path /h/.c/.aiorch-tmp-x");
        let c = CliError::io("write", Path::new("/h/.c/a.json"), "~/.c/a.json", e);
        assert_eq!(c.message, "cannot write ~/.c/a.json: permission denied");
        assert_eq!(
            c.hints[0],
            "your user may not write it: `ls -ld /h/.c /h/.c/a.json` shows the owners and modes to fix"
        );
        let e = io::Error::from_raw_os_error(13);
        let c = CliError::io("read", Path::new("/x"), "/x", e);
        assert_eq!(c.message, "cannot read /x: Permission denied (os error 13)");
    }
}
