//! Output conventions: data on stdout, diagnostics on stderr, colour only when wanted
//! (`--color`, `NO_COLOR`, a terminal), `-q` silences chatter, and a clock tests can pin.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Plain,
    Dim,
    Bold,
    Red,
    Green,
    Yellow,
    Cyan,
}

#[derive(Debug, Clone)]
pub struct Ui {
    color: bool,
    pub quiet: bool,
    pub json: bool,
}

impl Ui {
    pub fn new(choice: ColorChoice, quiet: bool, json: bool) -> Ui {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        };
        Ui { color, quiet, json }
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Plain => return text.to_string(),
            Style::Dim => "2",
            Style::Bold => "1",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// A line of regular output (suppressed by `-q`).
    pub fn out(&self, line: &str) {
        if !self.quiet {
            println!("{line}");
        }
    }

    /// Data output: always printed.
    pub fn data(&self, text: &str) {
        println!("{text}");
    }

    pub fn json(&self, v: &serde_json::Value) {
        println!("{}", serde_json::to_string_pretty(v).expect("json serialises"));
    }

    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{} {msg}", self.paint(Style::Yellow, "note:"));
        }
    }

    /// Something went wrong but the run went on (printed even with `-q`: the exit code is 1).
    pub fn warn(&self, msg: &str) {
        eprintln!("{} {msg}", self.paint(Style::Yellow, "warning:"));
    }

    pub fn ok_mark(&self) -> String {
        self.paint(Style::Green, "✓")
    }
    pub fn fail_mark(&self) -> String {
        self.paint(Style::Red, "✗")
    }
    pub fn warn_mark(&self) -> String {
        self.paint(Style::Yellow, "!")
    }
}

/// Seconds since the epoch; `AIORCH_NOW` pins it (tests use a fixed clock).
pub fn now_unix() -> i64 {
    if let Some(t) = std::env::var("AIORCH_NOW").ok().and_then(|v| v.parse().ok()) {
        return t;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// `20261121T094500Z` for a unix time (UTC, civil-from-days; no date crate needed).
pub fn utc_stamp(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamps_are_utc() {
        assert_eq!(super::utc_stamp(0), "19700101T000000Z");
        assert_eq!(super::utc_stamp(1_795_256_700), "20261121T102500Z");
    }
}
