//! The command-line contract: help that teaches, completions, the man page, usage errors,
//! colour control, and `aiorch agents` against fake client executables.

use crate::common::{TestEnv, require_tool, run_cmd};

/// The subcommands listed in the `Commands:` section of a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped description lines are indented further than command names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path, depth first: `["apply"]`, `["config", "set"]`, …
fn all_commands(env: &TestEnv) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut todo: Vec<Vec<String>> = subcommands(&env.ok(["--help"]).stdout).into_iter().map(|c| vec![c]).collect();
    while let Some(path) = todo.pop() {
        let help = env.ok(path.iter().map(String::as_str).chain(["--help"])).stdout;
        todo.extend(subcommands(&help).into_iter().map(|c| {
            let mut p = path.clone();
            p.push(c);
            p
        }));
        out.push(path);
    }
    out.sort();
    out
}

/// Commands that do not (yet) show examples in `--help`. A new command must either teach with
/// an `after_help` of examples or be listed here on purpose.
const WITHOUT_EXAMPLES: &[&str] = &["agents", "config", "config path", "config schema", "config show", "revert"];

#[test]
fn help_teaches_with_examples() {
    let env = TestEnv::empty();
    let top = env.ok(["--help"]).stdout;
    assert!(top.contains("Examples:\n  aiorch init"), "{top}");
    let commands = all_commands(&env);
    for must in ["init", "apply", "revert", "doctor", "agents", "config", "config set", "completions", "man"] {
        assert!(commands.iter().any(|c| c.join(" ") == must), "`{must}` is missing from --help: {commands:?}");
    }
    for c in &commands {
        let name = c.join(" ");
        let help = env.ok(c.iter().map(String::as_str).chain(["--help"])).stdout;
        assert!(help.contains(&format!("Usage: aiorch {name}")), "{name}: {help}");
        let has_examples = help.contains("\nExamples:\n") || help.contains("\nExample:\n");
        if WITHOUT_EXAMPLES.contains(&name.as_str()) {
            assert!(!has_examples, "`{name}` has examples now: remove it from WITHOUT_EXAMPLES");
        } else {
            assert!(has_examples, "`aiorch {name} --help` shows no examples:\n{help}");
            // Examples are real invocations.
            let ex = help.split("Example").nth(1).unwrap();
            assert!(ex.contains("aiorch "), "{name}: {ex}");
        }
    }
    // `aiorch help apply` is the same text as `aiorch apply --help`.
    assert_eq!(env.ok(["help", "apply"]).stdout, env.ok(["apply", "--help"]).stdout);
}

#[test]
fn completions_for_each_shell() {
    let env = TestEnv::empty();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.ok(["completions", shell]).stdout;
        assert!(out.len() > 500, "{shell}: {out}");
        assert!(out.contains("aiorch"), "{shell}");
        for sub in ["apply", "doctor", "completions"] {
            assert!(out.contains(sub), "{shell} completions lack `{sub}`");
        }
    }
    env.expect(["completions", "tcsh"], 2).assert_stderr_contains("invalid value 'tcsh'");
    // The bash script is valid bash.
    let Some(bash) = require_tool("bash", "apt-get install bash") else { return };
    let script = env.ok(["completions", "bash"]).stdout;
    env.write("aiorch.bash", &script);
    let st = std::process::Command::new(bash).arg("-n").arg(env.path("aiorch.bash")).env_clear().status().unwrap();
    assert!(st.success(), "bash -n rejects the completion script");
}

#[test]
fn man_page_is_roff() {
    let env = TestEnv::empty();
    let man = env.ok(["man"]).stdout;
    // clap_mangen puts only the quote-string preamble (`.ie`/`.el`) before the title.
    let first_macro = man.lines().find(|l| !l.starts_with(".ie") && !l.starts_with(".el")).unwrap();
    assert!(first_macro.starts_with(".TH aiorch 1"), "{first_macro}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(man.contains(section), "no {section}");
    }
    assert!(man.contains("aiorch\\-apply"), "subcommands are listed");
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::with_config("");
    for (args, msg) in [
        (&["frobnicate"][..], "unrecognized subcommand 'frobnicate'"),
        (&["apply", "--bogus"], "unexpected argument '--bogus'"),
        (&["apply", "--dry-run", "--check"], "cannot be used with"),
        (&["--color", "sometimes", "apply"], "invalid value 'sometimes'"),
        (&["config", "set", "local_only"], "required"),
        (&["config"], "Usage: aiorch config"),
        (&[], "Usage: aiorch"),
    ] {
        let run = env.expect(args, 2);
        run.assert_stderr_contains(msg);
        assert_eq!(run.stdout, "", "usage errors go to stderr{run}");
    }
    // --help and --version are not errors.
    env.ok(["--version"]).assert_stdout_contains("aiorch ");
    env.ok(["--help"]);
}

#[test]
fn colour_only_when_asked() {
    let env = TestEnv::new();
    const ESC: &str = "\x1b[";
    // NO_COLOR is set in every TestEnv run, and stdout is a pipe: no colour.
    let plain = env.ok(["apply", "--dry-run"]);
    assert!(!plain.stdout.contains(ESC) && !plain.stderr.contains(ESC), "{plain}");
    let never = env.ok(["--color", "never", "apply", "--dry-run"]);
    assert!(!never.stdout.contains(ESC), "{never}");
    assert_eq!(never.stdout, plain.stdout);
    // Without NO_COLOR, auto is still plain on a pipe.
    let mut c = env.cmd(["apply", "--dry-run"]);
    c.env_remove("NO_COLOR");
    let auto = run_cmd(&mut c);
    assert!(!auto.stdout.contains(ESC), "{auto}");
    // --color always wins over NO_COLOR.
    let always = env.ok(["--color", "always", "apply", "--dry-run"]);
    assert!(always.stdout.contains(&format!("{ESC}32m+{ESC}0m ~/.claude/CLAUDE.md")), "{always}");
    let stripped = strip_ansi(&always.stdout);
    assert_eq!(stripped, plain.stdout, "colour changes nothing but colour");
    // Errors too.
    env.write("~/.gemini/settings.json", "[]");
    let err = env.expect(["--color", "always", "apply"], 2);
    assert!(err.stderr.starts_with(&format!("{ESC}31merror:{ESC}0m")), "{err}");
    let err = env.expect(["--color", "never", "apply"], 2);
    assert!(err.stderr.starts_with("error: "), "{err}");
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn agents_lists_fake_clients_with_their_versions() {
    crate::common::assert_no_system_clients();
    let env = TestEnv::with_config(
        "[clients]\nclaude = \"auto\"\ngemini = \"auto\"\ncodex = \"never\"\ncopilot = \"always\"\n",
    );
    env.install_fake_client("claude", "2.1.329 (Claude Code)");
    env.install_fake_client("codex", "codex-cli 0.169.0");
    let v = env.ok(["agents", "--json"]).json();
    let rows = v.as_array().expect("an array");
    let row =
        |cmd: &str| rows.iter().find(|r| r["command"] == cmd).unwrap_or_else(|| panic!("no {cmd} in {v:#}")).clone();

    let claude = row("claude");
    assert_eq!(claude["installed"], true);
    assert_eq!(claude["version"], "2.1.329");
    assert_eq!(claude["path"], env.bin.join("claude").display().to_string());
    assert_eq!(claude["managed"], true, "auto + installed");
    let codex = row("codex");
    assert_eq!(codex["installed"], true);
    assert_eq!(codex["version"], "0.169.0");
    assert_eq!(codex["managed"], false, "never");
    for cmd in ["gemini", "copilot"] {
        let r = row(cmd);
        assert_eq!(r["installed"], false, "{r}");
        assert_eq!(r["version"], serde_json::Value::Null, "{r}");
    }
    assert_eq!(row("gemini")["managed"], false, "auto + not installed");
    assert_eq!(row("copilot")["managed"], true, "always");
    // Only the fakes are installed: nothing leaks in from the real machine.
    let installed: Vec<&str> =
        rows.iter().filter(|r| r["installed"] == true).map(|r| r["command"].as_str().unwrap()).collect();
    assert_eq!(installed, vec!["claude", "codex"], "{v:#}");

    // The text form says the same.
    let text = env.ok(["agents"]).stdout;
    let line = |cmd: &str| {
        text.lines().find(|l| l.split_whitespace().any(|w| w == cmd)).unwrap_or_else(|| panic!("{text}")).to_string()
    };
    assert!(line("claude").contains("2.1.329") && line("claude").ends_with("(managed)"), "{text}");
    assert!(line("gemini").contains("not installed"), "{text}");
    assert!(line("copilot").contains("not installed") && line("copilot").ends_with("(managed)"), "{text}");
}

#[test]
fn agents_copes_with_a_client_whose_version_is_unreadable() {
    let env = TestEnv::with_config("");
    env.install_fake_client("gemini", "");
    let v = env.ok(["agents", "--json"]).json();
    let gemini = v.as_array().unwrap().iter().find(|r| r["command"] == "gemini").unwrap().clone();
    assert_eq!(gemini["installed"], true);
    assert_eq!(gemini["version"], serde_json::Value::Null);
    env.ok(["agents"]).assert_stdout_contains("version unknown");
}

#[test]
fn agents_shows_opencode_and_aider_managed_when_installed() {
    crate::common::assert_no_system_clients();
    let env = TestEnv::with_config("");
    env.install_fake_client("opencode", "1.18.33");
    env.install_fake_client("aider", "aider 0.86.2");
    let v = env.ok(["agents", "--json"]).json();
    for (cmd, version) in [("opencode", "1.18.33"), ("aider", "0.86.2")] {
        let r = v.as_array().unwrap().iter().find(|r| r["command"] == cmd).unwrap().clone();
        assert_eq!((r["installed"].clone(), r["version"].clone()), (true.into(), version.into()), "{r}");
        assert_eq!(r["managed"], true, "auto + installed: {r}");
    }
}
