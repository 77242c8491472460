//! Homes shaped like real ones: the user's own entries in the files aiorch merges into. A
//! server the user defined under a name aiorch declares is a decision (exit 2, or
//! `apply --adopt NAME`), never a silent replacement; an identical one is no conflict; and
//! `revert` gives every file back byte for byte.

use crate::common::{TestEnv, clients_always};

const SELF: &str = "/opt/aiorch/bin/aiorch";

const CONFIG: &str = concat!(
    clients_always!(),
    "[agentsmd]\nhome_agents_md = false\n[plugins]\ndefaults = false\n[mcp]\nserve_self = false\n",
    "[mcp.servers.echo]\ncommand = \"/srv/echo\"\nargs = [\"stdio\"]\n"
);

fn env() -> TestEnv {
    let env = TestEnv::empty().only_bin_on_path().var("AIORCH_SELF", SELF);
    env.write_config(CONFIG);
    env
}

/// The user's own `echo` server in each client's file, in each client's own spelling.
const USERS: [(&str, &str, &str); 4] = [
    (
        "~/.claude.json",
        "mcpServers.echo",
        "{\n  \"numStartups\": 3,\n  \"mcpServers\": {\n    \"echo\": {\"type\": \"stdio\", \"command\": \"my-echo\", \
         \"env\": {\"TOKEN\": \"t0k\"}}\n  }\n}\n",
    ),
    ("~/.gemini/settings.json", "mcpServers.echo", "{ \"mcpServers\": { \"echo\": { \"command\": \"my-echo\" } } }\n"),
    (
        "~/.codex/config.toml",
        "mcp_servers.echo",
        "model = \"o3\"\n\n[mcp_servers.echo]\n# my own echo\ncommand = \"my-echo\"\n\n[mcp_servers.echo.env]\n\
         TOKEN = \"t0k\"\n",
    ),
    (
        "~/.copilot/mcp-config.json",
        "mcpServers.echo",
        "{\n\t\"mcpServers\": {\n\t\t\"echo\": {\"type\": \"local\", \"command\": \"my-echo\", \"args\": [], \
         \"tools\": [\"*\"]}\n\t}\n}\n",
    ),
];

#[test]
fn a_users_server_under_our_name_is_a_decision_not_a_replacement() {
    let env = env();
    for (f, _, text) in USERS {
        env.write(f, text);
    }
    let r = env.expect(["apply"], 2);
    for (f, key, _) in USERS {
        // Theirs by file:line and key, ours by where the config declares it.
        let line = match f {
            "~/.claude.json" => 4,
            "~/.gemini/settings.json" => 1,
            _ => 3,
        };
        r.assert_stderr_contains(&format!("{}:{line}: `{key}` is the user's own", env.path(f).display()));
        assert_eq!(env.read(f), USERS.iter().find(|u| u.0 == f).unwrap().2, "{f} untouched");
    }
    env.insta().bind(|| insta::assert_snapshot!("conflict_message", env.filter(&r.stderr)));
    r.assert_stderr_contains("`[mcp.servers.echo]` in");
    r.assert_stderr_contains("rename aiorch's where the config declares it");
    r.assert_stderr_contains("aiorch apply --adopt echo");
    assert!(!env.exists("state/ledger.json"), "nothing was changed: {}", env.tree());
    // The dry run says the same (it is the same plan).
    env.expect(["apply", "--dry-run"], 2);

    // Adopting: aiorch's replaces theirs, and says so.
    let r = env.ok(["apply", "--adopt", "echo"]);
    r.assert_stderr_contains("was the user's own; adopted (`--adopt echo`)");
    for (f, _, text) in USERS {
        assert_ne!(env.read(f), text, "{f}");
        assert!(env.read(f).contains("/srv/echo"), "{f}: {}", env.read(f));
    }
    // Doctor right after apply finds nothing changed by hand (hashes ignore key order), and
    // the next apply has nothing to do (no --adopt needed any more: the entry is aiorch's).
    let doctor = env.run(["doctor", "--no-connect"]);
    assert!(!doctor.all().contains("changed by hand"), "{doctor}");
    assert!(doctor.all().contains("owned artifacts intact"), "{doctor}");
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0));
    env.ok(["apply", "--adopt", "echo"])
        .assert_stderr_contains("--adopt echo: no entry of the user's under that name differs from aiorch's");

    // Revert gives each user's server back, byte for byte (the Codex comment and sub-table too).
    env.ok(["revert"]);
    for (f, _, text) in USERS {
        assert_eq!(env.read(f), text, "{f} after revert");
    }
}

#[test]
fn an_entry_equal_to_ours_in_another_key_order_is_no_conflict() {
    // What aiorch writes for `echo`, in each client's file.
    let scratch = env();
    scratch.ok(["apply"]);
    let ours: Vec<serde_json::Value> = USERS
        .iter()
        .map(|(f, _, _)| {
            let text = scratch.read(f);
            if f.ends_with(".toml") {
                let v: toml::Value = toml::from_str(&text).unwrap();
                serde_json::to_value(&v["mcp_servers"]["echo"]).unwrap()
            } else {
                serde_json::from_str::<serde_json::Value>(&text).unwrap()["mcpServers"]["echo"].clone()
            }
        })
        .collect();

    let env = env();
    let mut originals = vec![];
    for ((f, _, _), v) in USERS.iter().zip(&ours) {
        // The same members in reverse order (and the user's own layout).
        let obj = v.as_object().unwrap();
        let text = if f.ends_with(".toml") {
            let mut t = "[mcp_servers.echo]\n".to_string();
            for (k, v) in obj.iter().rev() {
                t.push_str(&format!("{k} = {v}\n"));
            }
            t
        } else {
            let members: Vec<String> = obj.iter().rev().map(|(k, v)| format!("\"{k}\": {v}")).collect();
            format!("{{\"mcpServers\": {{\"echo\": {{ {} }}}}, \"mine\": 1}}\n", members.join(", "))
        };
        env.write(f, &text);
        originals.push(text);
    }
    env.ok(["apply"]);
    let doctor = env.run(["doctor", "--no-connect"]);
    assert!(!doctor.all().contains("changed by hand"), "{doctor}");
    env.ok(["revert"]);
    for ((f, _, _), text) in USERS.iter().zip(&originals) {
        assert_eq!(&env.read(f), text, "{f}: the user's entry stays as it was");
    }
}

#[test]
fn codex_servers_written_inline_are_merged_into_and_given_back() {
    // `mcp_servers = { … }` on one line is as valid to Codex as [mcp_servers.NAME] tables.
    let env = env();
    let original = "model = \"o3\"\nmcp_servers = { mine = { command = \"m\" } } # keep\n\n[tui]\nanimations = false\n";
    env.write("~/.codex/config.toml", original);
    env.ok(["apply"]);
    let merged = env.read("~/.codex/config.toml");
    assert!(
        merged.contains(
            "mcp_servers = { mine = { command = \"m\" }, echo = { command = \"/srv/echo\", args = [\"stdio\"]"
        ),
        "{merged}"
    );
    assert!(merged.ends_with("} # keep\n\n[tui]\nanimations = false\n"), "{merged}");
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0));
    env.ok(["revert"]);
    assert_eq!(env.read("~/.codex/config.toml"), original);
}

#[test]
fn bom_and_crlf_survive_apply_and_revert() {
    let env = env();
    let toml = "\u{feff}# my codex config\r\nmodel = \"o3\"\r\n\r\n[mcp_servers.mine]\r\ncommand = \"m\"\r\n";
    let json = "\u{feff}{\r\n  \"mcpServers\": {\r\n    \"mine\": {\"command\": \"m\"}\r\n  }\r\n}\r\n";
    env.write("~/.codex/config.toml", toml);
    env.write("~/.claude.json", json);
    env.ok(["apply"]);
    for (f, original) in [("~/.codex/config.toml", toml), ("~/.claude.json", json)] {
        let merged = env.read(f);
        let first_lines: String = original.split_inclusive("\r\n").take(2).collect();
        assert!(merged.starts_with(&first_lines), "{f} keeps its bytes: {merged:?}");
        assert!(merged.starts_with('\u{feff}'), "{f} keeps its BOM: {merged:?}");
        assert!(!merged.replace("\r\n", "").contains('\n'), "{f}: every line ends CRLF: {merged:?}");
        assert!(merged.contains("/srv/echo"), "{merged:?}");
    }
    env.ok(["revert"]);
    assert_eq!(env.read("~/.codex/config.toml"), toml);
    assert_eq!(env.read("~/.claude.json"), json);
}

#[test]
fn an_adopted_entry_comes_back_byte_for_byte_after_ours_changed() {
    let env = env();
    let (f, _, original) = USERS[2];
    env.write(f, original);
    env.ok(["apply", "--adopt", "echo"]);
    // aiorch's definition changes twice; the user's original is still what revert gives back.
    for cmd in ["/srv/echo2", "/srv/echo3"] {
        env.write_config(&CONFIG.replace("/srv/echo", cmd));
        env.ok(["apply"]);
        assert!(env.read(f).contains(cmd), "{}", env.read(f));
    }
    env.ok(["revert"]);
    assert_eq!(env.read(f), original);
}
