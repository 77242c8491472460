//! Merging into files the clients also write: aiorch owns exactly `context.fileName` in
//! `~/.gemini/settings.json`; every other byte (comments, odd indentation, unknown keys,
//! trailing commas) is kept, and `revert` gives the file back byte for byte.

use crate::common::TestEnv;

const SETTINGS: &str = "~/.gemini/settings.json";

/// `new` must be `old` with one span replaced: returns (what was removed, what was inserted).
#[track_caller]
fn spliced(old: &str, new: &str) -> (String, String) {
    let p = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    let max_s = old.len().min(new.len()) - p;
    let s = old.bytes().rev().zip(new.bytes().rev()).take(max_s).take_while(|(a, b)| a == b).count();
    (old[p..old.len() - s].to_string(), new[p..new.len() - s].to_string())
}

const GEMINI_ONLY: &str = "[clients]\ngemini = \"always\"\n[mcp]\nserve_self = false\n";

const USER_SETTINGS: &str = r#"// Gemini settings — edited by hand, keep my notes!
{
   "theme": "GitHub",   // my favourite
      "ui": { "hideBanner": true,
  "footer": {"hideSandboxStatus": false} },
	"mcpServers": {
	    "x": { "command": "x-server" , "args": [ ] }   /* work */
	},
   /* a block comment
      over two lines */
   "unknownFutureKey": { "nested": [1, 2.50, {"a": null}], "e": 1e3 },
   "security": {"auth": {"selectedType": "oauth-personal"}},
}
"#;

#[test]
fn settings_with_comments_keep_every_byte() {
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, USER_SETTINGS);
    env.ok(["apply"]).assert_stdout_contains("~ ~/.gemini/settings.json  [context.fileName[+2]]  (backed up)");
    let merged = env.read(SETTINGS);
    let (removed, inserted) = spliced(USER_SETTINGS, &merged);
    assert_eq!(removed, "", "nothing of the user's was removed:\n{merged}");
    env.insta().bind(|| insta::assert_snapshot!("inserted_context_key", inserted));
    env.insta().bind(|| insta::assert_snapshot!("merged_settings_with_comments", merged));

    // aiorch reads its own merge back: nothing to do, doctor is happy.
    let (c, u, r, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, r), (0, 0, 0));
    env.ok(["doctor"]);

    // The whole-file copy taken before the first merge is the user's original.
    let backups = env.files_under("state/backups");
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups.values().next().unwrap(), USER_SETTINGS.as_bytes());

    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), USER_SETTINGS, "revert restores the file byte for byte");
}

#[test]
fn a_context_object_of_the_users_gets_only_the_key() {
    let original = "{\n    \"context\": {\n        // where my docs are\n        \"includeDirectories\": [\"~/docs\"]\
                    \n    },\n    \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, original);
    env.ok(["apply"]);
    let merged = env.read(SETTINGS);
    let (removed, inserted) = spliced(original, &merged);
    assert_eq!(removed, "");
    // Inserted as a sibling of the user's key, in the file's own 4-space indentation.
    assert_eq!(
        inserted, ",\n        \"fileName\": [\n            \"AGENTS.md\",\n            \"GEMINI.md\"\n        ]",
        "{merged}"
    );
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original);
}

#[test]
fn a_users_own_file_name_is_kept_and_ours_join_it() {
    // Gemini takes a string or a list: the user's string becomes the first of the list.
    let original = "{\n  \"context\": {\n    \"fileName\": \"CONTEXT.md\" // mine\n  },\n  \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, original);
    env.ok(["apply"]);
    let merged = env.read(SETTINGS);
    let (removed, inserted) = spliced(original, &merged);
    assert_eq!(removed, "\"CONTEXT.md\"", "only the value is replaced:\n{merged}");
    assert_eq!(inserted, "[\n      \"CONTEXT.md\",\n      \"AGENTS.md\",\n      \"GEMINI.md\"\n    ]");
    let ledger = env.ledger();
    let entry = ledger["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "members").unwrap();
    assert_eq!(entry["values"], serde_json::json!(["AGENTS.md", "GEMINI.md"]), "only ours are aiorch's");
    assert_eq!(entry["scalar"], "CONTEXT.md");
    env.ok(["doctor"]);
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original, "the user's string is back, comment included");
}

#[test]
fn a_users_list_of_context_files_is_a_union_and_comes_back_byte_for_byte() {
    let original = "{\n  \"context\": { \"fileName\": [\"CONTEXT.md\", \"TEAM.md\"] },\n  \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, original);
    let r = env.ok(["apply"]);
    r.assert_stdout_contains("[context.fileName[+2]]");
    let merged = env.read(SETTINGS);
    assert!(merged.contains("\"fileName\": [\"CONTEXT.md\", \"TEAM.md\", \"AGENTS.md\", \"GEMINI.md\"]"), "{merged}");
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0));
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original, "one line stays one line");

    // A file name the user adds meanwhile is theirs: retraction removes only aiorch's.
    env.ok(["apply"]);
    let added = env.read(SETTINGS).replace("\"GEMINI.md\"]", "\"GEMINI.md\", \"NOTES.md\"]");
    env.write(SETTINGS, &added);
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original.replace("\"TEAM.md\"]", "\"TEAM.md\", \"NOTES.md\"]"));
}

#[test]
fn an_empty_object_the_user_wrote_survives_revert() {
    let original = "{\n  \"context\": {},\n  \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, original);
    env.ok(["apply"]);
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original, "aiorch did not create `context`, so it stays");

    // But a `context` aiorch created goes again.
    let original = "{\n  \"theme\": \"Dracula\"\n}\n";
    env.write(SETTINGS, original);
    env.ok(["apply"]);
    assert!(env.read(SETTINGS).contains("\"context\""));
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original);
}

#[test]
fn a_settings_file_aiorch_created_goes_on_revert() {
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.ok(["apply"]);
    assert!(env.exists(SETTINGS));
    env.ok(["revert"]);
    assert!(!env.exists("~/.gemini"), "{}", env.tree());
    assert_eq!(std::fs::read_dir(&env.home).unwrap().count(), 0, "{}", env.tree());
}

#[test]
fn a_symlinked_settings_file_is_written_through() {
    // dotfiles-style: ~/.gemini/settings.json -> ~/dotfiles/gemini/settings.json (relative).
    let original = "{\n  // from my dotfiles repo\n  \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write("~/dotfiles/gemini/settings.json", original);
    std::fs::create_dir_all(env.path("~/.gemini")).unwrap();
    std::os::unix::fs::symlink("../dotfiles/gemini/settings.json", env.path(SETTINGS)).unwrap();

    env.ok(["apply"]);
    assert_eq!(
        std::fs::read_link(env.path(SETTINGS)).unwrap(),
        std::path::Path::new("../dotfiles/gemini/settings.json"),
        "still the same link"
    );
    let merged = env.read("~/dotfiles/gemini/settings.json");
    assert!(merged.contains("\"fileName\""), "{merged}");
    assert_eq!(spliced(original, &merged).0, "");
    let (c, u, r, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, r), (0, 0, 0));
    env.ok(["doctor"]);

    env.ok(["revert"]);
    assert_eq!(
        std::fs::read_link(env.path(SETTINGS)).unwrap(),
        std::path::Path::new("../dotfiles/gemini/settings.json")
    );
    assert_eq!(env.read("~/dotfiles/gemini/settings.json"), original);
}

#[test]
fn users_own_commands_survive_apply_and_revert() {
    let env = TestEnv::new();
    env.write("~/.claude/commands/mine.md", "My own command\n");
    env.write("~/.claude/commands/team/deploy.md", "Deploy\n");
    env.write("~/.gemini/commands/mine.toml", "prompt = \"mine\"\n");
    let before = env.fingerprint();

    env.ok(["apply"]);
    assert!(env.exists("~/.claude/commands/review.md"));
    for f in ["~/.claude/commands/mine.md", "~/.claude/commands/team/deploy.md", "~/.gemini/commands/mine.toml"] {
        let key = format!("home/{}", f.trim_start_matches("~/"));
        assert_eq!(env.fingerprint()[&key], before[&key], "{f} untouched by apply");
    }
    env.ok(["revert"]);
    let after = env.fingerprint();
    let home = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .filter(|(k, _)| k.starts_with("home"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // The user's commands and the directories they live in are exactly as before.
    crate::common::assert_same(&home(&before), &home(&after), "home after apply + revert");
}

/// Keys aiorch added under a parent it created (`enabledPlugins`) are retracted one config
/// change at a time; the parent goes with the last of them, and so does the file aiorch created.
#[test]
fn a_created_parent_goes_with_the_last_of_its_keys() {
    let config = |plugins: &str| {
        format!(
            "{}\n[policy]\nenable = false\n[plugins]\ndefaults = false\nenabled = [{plugins}]\n",
            crate::common::ALL_CLIENTS
        )
    };
    let env = TestEnv::with_config(&config(r#""a@m", "b@m""#));
    env.ok(["apply"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.claude/settings.json")).unwrap();
    assert_eq!(v["enabledPlugins"], serde_json::json!({"a@m": true, "b@m": true}));
    // Retract the key that created the parent first, then the other one.
    env.write("config/aiorch.toml", config(r#""b@m""#));
    env.ok(["apply"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.claude/settings.json")).unwrap();
    assert_eq!(v["enabledPlugins"], serde_json::json!({"b@m": true}));
    env.write("config/aiorch.toml", config(""));
    env.ok(["apply"]);
    assert!(!env.exists("~/.claude/settings.json"), "{}", env.read("~/.claude/settings.json"));
}

/// A ledger from before `context.fileName` was a list of members (aiorch owned the whole key):
/// the next apply turns it into members, and revert still leaves nothing behind.
#[test]
fn an_older_ledger_owning_the_whole_file_name_key_moves_on() {
    let original = "{\n  \"theme\": \"Dracula\"\n}\n";
    let env = TestEnv::with_config(GEMINI_ONLY);
    env.write(SETTINGS, original);
    env.ok(["apply"]);
    let mut ledger = env.ledger();
    let entry = ledger["entries"].as_array_mut().unwrap().iter_mut().find(|e| e["kind"] == "members").unwrap();
    *entry = serde_json::json!({
        "path": entry["path"], "owner": "gemini", "kind": "key", "format": "json",
        "key": ["context", "fileName"],
        "sha256": crate::common::sha256_hex(br#"["AGENTS.md","GEMINI.md"]"#),
        "created_parents": 1,
    });
    env.write("state/ledger.json", serde_json::to_string_pretty(&ledger).unwrap());
    env.ok(["apply"]);
    let v: serde_json::Value = serde_json::from_str(&env.read(SETTINGS)).unwrap();
    assert_eq!(v["context"]["fileName"], serde_json::json!(["AGENTS.md", "GEMINI.md"]));
    let (c, u, r, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, r), (0, 0, 0));
    env.ok(["revert"]);
    assert_eq!(env.read(SETTINGS), original);
}
