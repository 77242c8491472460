//! No token rests in the state dir: apply's backups of the user's files and the ledger's record
//! of the entries it takes over hold placeholders for the secrets the config declares, and
//! revert fills the values in again from the secrets backend (a file backend in the fake HOME).
//! A secret rotated or removed since leaves that one file as aiorch wrote it, says so and exits 1.

use std::os::unix::fs::PermissionsExt;

use crate::common::{TestEnv, contains, walk};

const GH: &str = "ghp_CANARYbackup0github0token000001";
const DOCS: &str = "CANARY-backup-docs-bearer-5e1d";
const ROTATED: &str = "ghp_CANARYrotated0github0token00002";

fn config() -> String {
    format!(
        "{}[mcp]\nserve_self = false\n\n[mcp.servers.github]\ncommand = \"github-mcp-server\"\nargs = [\"stdio\"]\n\
         secrets = [\"GITHUB_TOKEN\"]\n\n[mcp.servers.docs]\nurl = \"https://mcp.example.com/mcp\"\n\
         headers = {{ Authorization = \"Bearer ${{DOCS_TOKEN}}\" }}\nsecrets = [\"DOCS_TOKEN\"]\n\n\
         [secrets]\nbackend = \"file\"\n",
        crate::common::ALL_CLIENTS.replace("[mcp]\nserve_self = false\n", "")
    )
}

/// Tokens pasted into each client's own file: JSON (Claude, Copilot), JSONC (Gemini), TOML with
/// CRLF line ends (Codex). Claude's `github` is named like the config's (taken over with
/// `--adopt`); the others are the user's own servers under other names.
fn seed(env: &TestEnv) {
    env.write("~/.claude.json", seeded_claude());
    env.write(
        "~/.gemini/settings.json",
        format!(
            "{{\n  // mine\n  \"theme\": \"Dracula\",\n  \"mcpServers\": {{\n    \"gh-issues\": \
             {{ \"command\": \"gh-mcp\", \"env\": {{ \"GITHUB_TOKEN\": \"{GH}\" }} }}, // keep\n  }}\n}}\n"
        ),
    );
    env.write(
        "~/.codex/config.toml",
        format!(
            "# my Codex\r\nmodel = \"gpt-5\"\r\n\r\n[mcp_servers.gh-mine]\r\ncommand = \"gh-mcp\"\r\n\
             env = {{ GITHUB_TOKEN = \"{GH}\" }}\r\n"
        ),
    );
    env.write(
        "~/.copilot/mcp-config.json",
        format!(
            "{{\n  \"mcpServers\": {{\n    \"my-docs\": {{ \"type\": \"http\", \
             \"url\": \"https://mcp.example.com/mcp\", \
             \"headers\": {{ \"Authorization\": \"Bearer {DOCS}\" }}, \"tools\": [\"*\"] }}\n  }}\n}}\n"
        ),
    );
    for f in ["~/.claude.json", "~/.gemini/settings.json", "~/.codex/config.toml", "~/.copilot/mcp-config.json"] {
        std::fs::set_permissions(env.path(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn seeded_claude() -> String {
    format!(
        "{{\n  \"numStartups\": 3,\n  \"mcpServers\": {{\n    \"github\": {{ \"type\": \"stdio\", \"command\": \
         \"github-mcp-server\",\n      \"env\": {{ \"GITHUB_TOKEN\": \"{GH}\" }} }}\n  }}\n}}\n"
    )
}

fn set(env: &TestEnv, name: &str, value: &str) {
    let r = env.run_in(["secrets", "set", name], value);
    assert_eq!(r.code, Some(0), "{r}");
}

/// A sandbox with the tokens in the client files and in the backend (`~/.config/aiorch/`).
fn seeded() -> TestEnv {
    let env = TestEnv::with_config(&config());
    seed(&env);
    set(&env, "GITHUB_TOKEN", GH);
    set(&env, "DOCS_TOKEN", DOCS);
    env
}

/// Every file under the state dir (read as bytes, links by their target) holding a token.
#[track_caller]
fn assert_no_token_in_state(env: &TestEnv) {
    let mut files = 0;
    for (rel, _) in walk(&env.root, &env.state) {
        let p = env.root.join(&rel);
        let mut bytes = std::fs::read(&p).unwrap_or_default();
        if let Ok(t) = std::fs::read_link(&p) {
            bytes.extend(t.as_os_str().as_encoded_bytes());
        }
        files += 1;
        for t in [GH, DOCS, ROTATED] {
            assert!(!contains(&bytes, t.as_bytes()), "{rel} holds a token:\n{}", String::from_utf8_lossy(&bytes));
        }
    }
    assert!(files > 3, "the state dir holds the ledger and the backups ({files} files)");
}

/// Kind, mode and content of everything under HOME but the secrets backend's own file.
fn home(env: &TestEnv) -> std::collections::BTreeMap<String, String> {
    let mut fp = env.fingerprint_of(&["home"], false);
    fp.retain(|path, _| !path.starts_with("home/.config/aiorch/"));
    fp
}

#[test]
fn backups_and_ledger_hold_placeholders_and_revert_is_byte_exact() {
    let env = seeded();
    let before = home(&env);

    let r = env.ok(["apply", "--adopt", "github"]);
    for t in [GH, DOCS] {
        assert!(!r.all().contains(t), "{r}");
    }
    assert_no_token_in_state(&env);
    // The copies name the secret instead (and revert needs nothing else).
    let ledger = env.read("state/ledger.json");
    assert!(ledger.contains("@@aiorch-secret:GITHUB_TOKEN:"), "the adopted entry's prior is redacted:\n{ledger}");
    let backups: Vec<String> = walk(&env.root, &env.state.join("backups"))
        .into_iter()
        .filter(|(rel, _)| std::fs::read(env.root.join(rel)).is_ok_and(|b| contains(&b, b"@@aiorch-secret:")))
        .map(|(rel, _)| rel)
        .collect();
    assert_eq!(backups.len(), 4, "one redacted backup per client file: {backups:?}");
    let codex = backups.iter().find(|b| b.ends_with("config.toml")).unwrap();
    assert!(env.read(codex).contains("\r\n"), "CRLF stays in the backup");
    // Every mode is kept (the backups of 0600 files are 0600).
    for b in &backups {
        let mode = std::fs::metadata(env.root.join(b)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{b}");
    }
    env.ok(["apply", "--check"]);
    let doctor = env.run(["doctor", "--no-connect"]);
    assert!(!doctor.all().contains("placeholder"), "{doctor}");

    env.ok(["revert"]);
    assert_eq!(home(&env), before, "revert fills the tokens in again, byte for byte");
    assert_no_token_in_state(&env);
}

#[test]
fn a_rotated_or_removed_secret_leaves_that_file_and_says_what_to_do() {
    let env = seeded();
    // A whole file aiorch replaces (and backs up) with the token in it, too.
    env.write("~/.claude/CLAUDE.md", format!("# Mine\n\nexport GITHUB_TOKEN={GH}\n"));
    let before = home(&env);
    let original = env.read("~/.claude.json");
    env.ok(["apply", "--adopt", "github"]);
    let ours = env.read("~/.claude.json");

    // Rotated: the backend's value no longer hashes like the one the copy was taken with.
    set(&env, "GITHUB_TOKEN", ROTATED);
    let doctor = env.run(["doctor", "--no-connect"]);
    assert!(
        doctor
            .all()
            .contains("holds a placeholder for a secret, and the secret GITHUB_TOKEN has a different value now"),
        "doctor names the secret{doctor}"
    );
    let r = env.expect(["revert"], 1);
    r.assert_stderr_contains(&format!("{} is not reverted", env.path("~/.claude.json").display()));
    r.assert_stderr_contains("the secret GITHUB_TOKEN has a different value now");
    r.assert_stderr_contains("`aiorch secrets set GITHUB_TOKEN`");
    r.assert_stderr_contains(&format!("{} is not restored: its backup", env.path("~/.claude/CLAUDE.md").display()));
    assert!(!r.all().contains(GH) && !r.all().contains(ROTATED), "{r}");
    assert_eq!(env.read("~/.claude.json"), ours, "aiorch's file is left as it is");
    assert!(env.read("~/.claude/CLAUDE.md").contains("@AGENTS.md"), "aiorch's CLAUDE.md is left as it is");
    // The other files went back (their entries hold no secret of the user's).
    for f in ["~/.gemini/settings.json", "~/.codex/config.toml", "~/.copilot/mcp-config.json"] {
        let rel = env.path(f).strip_prefix(&env.root).unwrap().display().to_string();
        assert_eq!(home(&env).get(&rel), before.get(&rel), "{f} is reverted");
    }
    assert_no_token_in_state(&env);

    // Removed: the same, saying so.
    env.ok(["secrets", "rm", "GITHUB_TOKEN"]);
    let r = env.expect(["revert"], 1);
    r.assert_stderr_contains("the secret GITHUB_TOKEN is no longer in the secrets backend");
    assert_eq!(env.read("~/.claude.json"), ours);

    // With the old value back, revert finishes, byte for byte.
    set(&env, "GITHUB_TOKEN", GH);
    env.ok(["revert"]);
    assert_eq!(env.read("~/.claude.json"), original);
    assert_eq!(home(&env), before);
}

#[test]
fn revert_current_secrets_writes_the_value_the_backend_has_now() {
    let env = seeded();
    let original = env.read("~/.claude.json");
    env.ok(["apply", "--adopt", "github"]);
    set(&env, "GITHUB_TOKEN", ROTATED);
    env.expect(["revert", "--dry-run"], 1);
    env.ok(["revert", "--current-secrets"]);
    assert_eq!(env.read("~/.claude.json"), original.replace(GH, ROTATED));
}

#[test]
fn a_declared_secret_not_in_the_backend_stops_apply_before_anything_changes() {
    let env = TestEnv::with_config(&config());
    seed(&env);
    set(&env, "DOCS_TOKEN", DOCS);
    let before = env.fingerprint();
    let r = env.expect(["apply", "--adopt", "github"], 2);
    r.assert_stderr_contains(&format!("{}:", env.path("~/.claude.json").display()));
    r.assert_stderr_contains("`mcpServers.github.env.GITHUB_TOKEN` holds a literal value for the secret GITHUB_TOKEN");
    r.assert_stderr_contains("`aiorch secrets set GITHUB_TOKEN`");
    assert!(!r.all().contains(GH), "{r}");
    assert_eq!(env.fingerprint(), before, "nothing changed, not even a state dir{r}");
    // Stored, apply goes ahead.
    set(&env, "GITHUB_TOKEN", GH);
    env.ok(["apply", "--adopt", "github"]);
    assert_no_token_in_state(&env);
}

#[test]
fn a_crash_and_a_lost_ledger_still_recover_with_redacted_backups() {
    // Killed after the first change: the journal (redacted too) lets revert give everything back.
    let mut env = seeded();
    let before = home(&env);
    env.set_env("AIORCH_FAULT_ABORT_AFTER", "1");
    let r = env.run(["apply", "--adopt", "github"]);
    assert_ne!(r.code, Some(0), "{r}");
    env.set_env("AIORCH_FAULT_ABORT_AFTER", "");
    assert_no_token_in_state(&env);
    env.ok(["revert"]);
    assert_eq!(home(&env), before, "revert after a crash is byte-exact");

    // The ledger lost: apply recognises its own entries and takes the user's from the backups.
    let env = seeded();
    let before = home(&env);
    env.ok(["apply", "--adopt", "github"]);
    let applied = home(&env);
    std::fs::remove_file(env.path("state/ledger.json")).unwrap();
    let r = env.ok(["apply", "--adopt", "github"]);
    r.assert_stderr_contains("the ledger was missing");
    assert_eq!(home(&env), applied, "nothing changed on disk{r}");
    assert_no_token_in_state(&env);
    env.ok(["revert"]);
    // Without the ledger's splice, the taken-over entry comes back re-rendered from the backup
    // (as without redaction), with the user's token filled in; every other file byte for byte.
    // (Directories aiorch created are only known to the lost ledger: they stay, empty.)
    let after = home(&env);
    for (path, fp) in before.iter().filter(|(p, _)| !p.ends_with(".claude.json")) {
        assert_eq!(after.get(path), Some(fp), "{path}");
    }
    let claude: serde_json::Value = serde_json::from_str(&env.read("~/.claude.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&seeded_claude()).unwrap();
    assert_eq!(claude, original);
}

#[test]
fn secrets_are_read_only_when_a_copy_is_written_or_filled_in() {
    // A command backend that logs every read.
    let backend = "[secrets]\nbackend = \"command\"\n\
                   command = [\"sh\", \"-c\", \"echo \\\"$0\\\" >> \\\"$1\\\"; cat \\\"$0\\\"\", \
                   \"@ROOT@/vault/{name}\", \"@ROOT@/reads.log\"]\n\
                   command_set = [\"sh\", \"-c\", \"mkdir -p \\\"$(dirname \\\"$0\\\")\\\" && cat > \\\"$0\\\"\", \
                   \"@ROOT@/vault/{name}\"]\n";
    let env = TestEnv::with_config(&config().replace("[secrets]\nbackend = \"file\"\n", backend));
    seed(&env);
    set(&env, "GITHUB_TOKEN", GH);
    set(&env, "DOCS_TOKEN", DOCS);
    let reads = || std::fs::read_to_string(env.path("reads.log")).unwrap_or_default().lines().count();
    let before = home(&env);

    env.ok(["apply", "--adopt", "github"]);
    assert!(reads() > 0, "the first apply copies the user's files: it reads the declared secrets");
    assert_no_token_in_state(&env);
    std::fs::remove_file(env.path("reads.log")).unwrap();
    // Nothing copied, nothing undone: nothing read.
    env.ok(["apply", "--adopt", "github"]);
    env.ok(["apply", "--check"]);
    assert_eq!(reads(), 0, "a no-op apply reads no secret");
    // A change that copies nothing of the user's reads nothing either.
    let more = "[mcp.servers.extra]\ncommand = \"extra-mcp\"\n\n";
    env.write_config(
        &config()
            .replace("[secrets]\n", &format!("{more}[secrets]\n"))
            .replace("[secrets]\nbackend = \"file\"\n", backend),
    );
    let (created, updated, _, _) = env.ok(["apply", "--adopt", "github"]).summary();
    assert!(created + updated > 0);
    assert_eq!(reads(), 0, "an apply that records no value of the user's reads no secret");
    env.ok(["revert"]);
    assert!(reads() > 0, "revert fills the values in");
    assert_eq!(home(&env), before);
}
