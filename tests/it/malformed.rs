//! Bad input gets a clear error and nothing else: every malformed file below makes `aiorch
//! apply` exit 2 with an error naming `file:line:col`, and not one byte changes anywhere.

use crate::common::{Run, TestEnv, assert_same};

/// Run `apply` and require exit 2, an error starting with `path:line:col`, the hint, and an
/// untouched sandbox. `fresh`: the state dir did not exist before (then it must still not).
#[track_caller]
fn refuses(env: &TestEnv, file: &str, line_col: &str, message: &str) -> Run {
    let before = env.fingerprint();
    let had_state = env.exists("state");
    let run = env.expect(["apply"], 2);
    let shown = format!("error: {}:{line_col}: {message}", env.path(file).display());
    run.assert_stderr_contains(&shown);
    assert_eq!(run.stdout, "", "nothing is planned or printed on stdout{run}");
    assert_same(&before, &env.fingerprint(), &format!("apply refusing {file}"));
    assert_eq!(env.exists("state"), had_state, "the state dir is not created by a refused apply{run}");
    // --dry-run and --check refuse the same way.
    for flag in ["--dry-run", "--check"] {
        env.expect(["apply", flag], 2).assert_stderr_contains(&shown);
    }
    assert_same(&before, &env.fingerprint(), &format!("apply --dry-run/--check refusing {file}"));
    run
}

const SETTINGS: &str = "~/.gemini/settings.json";

/// Malformed `~/.gemini/settings.json` files: (name, bytes, line:col, message).
fn bad_settings() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        ("missing comma", b"{\n  \"theme\": \"dark\"\n  \"vimMode\": true\n}\n".to_vec(), "3:3", "expected ',' or '}'"),
        ("unterminated string", b"{\n  \"theme\": \"dark\n}\n".to_vec(), "2:12", "unterminated string"),
        (
            "trailing garbage",
            b"{\"theme\": \"dark\"}\n}}\n".to_vec(),
            "2:1",
            "unexpected content after the root object",
        ),
        ("array root", b"[\"AGENTS.md\"]\n".to_vec(), "1:1", "the root value must be an object"),
        ("invalid utf-8", b"{\n  \"theme\": \"d\xffrk\"\n}\n".to_vec(), "2:14", "not UTF-8 text (byte 0xff)"),
    ]
}

#[test]
fn malformed_gemini_settings_in_a_fresh_home() {
    for (name, bytes, line_col, message) in bad_settings() {
        let env = TestEnv::new();
        env.write(SETTINGS, &bytes);
        let run = refuses(&env, SETTINGS, line_col, message);
        run.assert_stderr_contains("hint: fix or move the file, then run aiorch again; nothing was changed");
        assert_eq!(env.read_bytes(SETTINGS), bytes, "{name}");
    }
}

#[test]
fn malformed_gemini_settings_after_an_apply() {
    // The realistic case: everything was applied, then the user broke the file by hand.
    let env = TestEnv::new();
    env.ok(["apply"]);
    for (name, bytes, line_col, message) in bad_settings() {
        env.write(SETTINGS, &bytes);
        refuses(&env, SETTINGS, line_col, message);
        assert_eq!(env.read_bytes(SETTINGS), bytes, "{name}");
        // revert refuses too: it would have to retract the key from this file.
        let before = env.fingerprint();
        env.expect(["revert"], 2).assert_stderr_contains(&format!("{}:{line_col}", env.path(SETTINGS).display()));
        assert_same(&before, &env.fingerprint(), &format!("revert refusing {name}"));
    }
}

#[test]
fn a_directory_where_settings_json_belongs() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("~/.gemini/settings.json/x")).unwrap();
    let before = env.fingerprint();
    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!("{} is a directory, expected a Json file", env.path(SETTINGS).display()));
    assert_same(&before, &env.fingerprint(), "apply refusing a directory");
}

/// A malformed config: (name, file name, text, line:col, message, hint).
type BadConfig = (&'static str, &'static str, &'static str, &'static str, &'static str, Option<&'static str>);

fn bad_configs() -> Vec<BadConfig> {
    vec![
        ("bad syntax", "aiorch.toml", "[clients\nclaude = \"always\"\n", "1:9", "unclosed table, expected `]`", None),
        (
            "unknown key",
            "aiorch.toml",
            "enable = true\nlocal_onyl = true\n",
            "2:1",
            "unknown field `local_onyl`",
            Some("did you mean `local_only`?"),
        ),
        (
            "unknown nested key",
            "aiorch.toml",
            "# models\n[models]\ndefault_codng = \"x\"\n",
            "3:1",
            "unknown field `default_codng`",
            Some("did you mean `default_coding`?"),
        ),
        (
            "unknown client mode",
            "aiorch.toml",
            "[clients]\ncodex = \"nevr\"\n",
            "2:9",
            "unknown variant `nevr`",
            Some("did you mean `never`?"),
        ),
        (
            "wrong type",
            "aiorch.toml",
            "enable = true\nlocal_only = \"yes\"\n",
            "2:14",
            "invalid type: string \"yes\", expected a boolean",
            None,
        ),
        ("duplicate key", "aiorch.toml", "enable = true\nenable = false\n", "2:1", "duplicate key", None),
        (
            "json syntax on line 3",
            "aiorch.json",
            "{\n  \"enable\": true,\n  \"local_only\": tru\n}\n",
            "3:20",
            "expected ident",
            None,
        ),
        (
            "json unknown nested key",
            "aiorch.json",
            "{\n  \"clients\": {\n    \"codx\": \"never\"\n  }\n}\n",
            "3:10",
            "unknown field `codx`",
            Some("did you mean `codex`?"),
        ),
        (
            "json wrong type",
            "aiorch.json",
            "{\n  \"enable\": \"yes\"\n}\n",
            "2:17",
            "invalid type: string \"yes\", expected a boolean",
            None,
        ),
    ]
}

#[test]
fn malformed_configs() {
    for (name, file, text, line_col, message, hint) in bad_configs() {
        let mut env = TestEnv::empty();
        let rel = format!("config/{file}");
        env.write(&rel, text);
        env.config = env.path(&rel);
        let run = refuses(&env, &rel, line_col, message);
        if let Some(h) = hint {
            run.assert_stderr_contains(&format!("hint: {h}"));
            run.assert_stderr_contains("hint: `aiorch config schema` prints every key");
        }
        // Every command that reads the config refuses it the same way.
        for args in [&["doctor"][..], &["config", "show"], &["agents"]] {
            let r = env.expect(args, 2);
            // doctor reports it as a failed check on stdout; the others as an error on stderr.
            let want = format!("{}:{line_col}: {message}", env.path(&rel).display());
            assert!(r.stderr.contains(&want) || args[0] == "doctor" && r.stdout.contains(&want), "{name}: {want}{r}");
        }
        assert!(!env.exists("state"), "{name}: no state dir");
        assert_eq!(env.read(&rel), text);
    }
}

#[test]
fn malformed_config_after_an_apply_changes_nothing() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    env.write("config/aiorch.toml", format!("{}colour = \"red\"\n", crate::common::ALL_CLIENTS));
    refuses(&env, "config/aiorch.toml", "8:1", "unknown field `colour`");
    // revert does not need the config: a broken one never blocks undoing everything.
    env.ok(["revert"]);
    assert_eq!(std::fs::read_dir(&env.home).unwrap().count(), 0, "{}", env.tree());
}

#[test]
fn a_named_config_that_does_not_exist() {
    let env = TestEnv::empty();
    let before = env.fingerprint();
    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!("cannot read config {}", env.config.display()));
    run.assert_stderr_contains("hint: create one with `aiorch init`");
    assert_same(&before, &env.fingerprint(), "missing config");
}

#[test]
fn a_corrupt_ledger() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    const PARSE: &str = "the ledger does not parse";
    for (text, line_col, message) in [
        (&b"{\"version\": 1, \"entries\": [\n"[..], "1:28", PARSE),
        (b"not json", "1:2", PARSE),
        (b"{\"version\": 1, \"entries\": 3}", "1:27", PARSE),
        // Not text at all: where the first bad byte is, not "stream did not contain valid UTF-8".
        (b"{\"version\": 1,\n \xff\xfe}", "2:2", "the ledger is not UTF-8 text"),
    ] {
        env.write("state/ledger.json", text);
        let before = env.fingerprint();
        for args in [&["apply"][..], &["apply", "--dry-run"], &["revert"]] {
            let run = env.expect(args, 2);
            run.assert_stderr_contains(&format!(
                "error: {}:{line_col}: {message}",
                env.path("state/ledger.json").display()
            ));
            run.assert_stderr_contains("hint: the ledger is aiorch's record of what it owns");
        }
        assert_same(&before, &env.fingerprint(), "corrupt ledger");
    }
}

/// A settings file that parses but holds something aiorch cannot merge into where its keys go:
/// bad input (exit 2) at the offending value, naming the file and the key that is in the way.
#[test]
fn a_key_in_the_way_of_a_merge() {
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "~/.claude.json",
            "{\"theme\": \"dark\",\n  \"mcpServers\": 5}\n",
            "2:17",
            "cannot set \"mcpServers.aiorch\": \"mcpServers\" is not an object",
        ),
        (
            "~/.gemini/settings.json",
            "{\"context\": [\"x\"]}\n",
            "1:13",
            "cannot set \"context.fileName\": \"context\" is not an object",
        ),
        (
            "~/.codex/config.toml",
            "model = \"o3\"\nmcp_servers = [\"x\"]\n",
            "2:15",
            "`mcp_servers` is not a table, so aiorch cannot add `mcp_servers.aiorch` to it",
        ),
        (
            "~/.codex/config.toml",
            "mcp_servers = 5\n",
            "1:15",
            "`mcp_servers` is not a table, so aiorch cannot add `mcp_servers.aiorch` to it",
        ),
    ];
    for (file, text, line_col, message) in cases {
        let env = TestEnv::with_config(&format!("{}\n[mcp]\nserve_self = true\n", crate::common::CLIENTS_ALWAYS));
        env.write(file, text);
        refuses(&env, file, line_col, message);
    }
}
