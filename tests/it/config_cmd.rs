//! `aiorch init` and `aiorch config show|path|set|schema`.

use crate::common::{TestEnv, assert_same, run_cmd};

const TEMPLATE: &str = include_str!("../../src/config/template.toml");

#[test]
fn init_writes_the_template_and_will_not_overwrite() {
    let env = TestEnv::empty();
    let run = env.ok(["init"]);
    run.assert_stdout_contains(&format!("wrote {}", env.config.display()));
    assert_eq!(env.read("config/aiorch.toml"), TEMPLATE);
    // The template is the defaults, spelled out.
    let shown = env.ok(["config", "show", "--json"]).json();
    let defaults = TestEnv::empty();
    let home = defaults.home.display().to_string();
    let default_show = run_cmd(&mut defaults.bare_cmd(["--home", &home, "config", "show", "--json"]));
    assert_eq!(shown, default_show.assert_code(0).json());

    // A second init refuses, exit 2, and leaves the file alone.
    env.write("config/aiorch.toml", format!("{TEMPLATE}# my addition\n"));
    let before = env.fingerprint();
    let run = env.expect(["init"], 2);
    run.assert_stderr_contains(&format!("error: {} already exists", env.config.display()));
    run.assert_stderr_contains(
        "hint: use `aiorch config set KEY VALUE` to change it, or `aiorch init --force` to start over",
    );
    assert_same(&before, &env.fingerprint(), "init without --force");

    env.ok(["init", "--force"]);
    assert_eq!(env.read("config/aiorch.toml"), TEMPLATE);
}

#[test]
fn init_of_a_json_config_writes_json_defaults() {
    let mut env = TestEnv::empty();
    env.config = env.path("config/aiorch.json");
    env.ok(["init"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("config/aiorch.json")).expect("init wrote JSON");
    assert_eq!(v, env.ok(["config", "show", "--json"]).json());
    env.ok(["apply", "--dry-run"]);
}

const COMMENTED: &str = "# My aiorch config (hand-written)\n\nlocal_only = false # flip when travelling\n\n[models]\n\
                         # the coder\ndefault_coding = \"anthropic/claude-sonnet-4-5\"   # keep aligned\n\n[clients]\n\
                         claude = \"always\"\n# codex is noisy\ncodex = \"auto\"\n";

#[test]
fn config_set_keeps_comments_and_layout() {
    let env = TestEnv::with_config(COMMENTED);
    env.ok(["config", "set", "local_only", "true"])
        .assert_stdout_contains(&format!("set local_only in {}", env.config.display()));
    env.ok(["config", "set", "clients.codex", "never"]);
    env.ok(["config", "set", "models.default_coding", "openai/gpt-5"]);
    env.ok(["config", "set", "agentsmd.home_agents_md", "false"]);
    let text = env.read("config/aiorch.toml");
    env.insta().bind(|| insta::assert_snapshot!("config_set_commented", text));
    let shown = env.ok(["config", "show", "--json"]).json();
    assert_eq!(shown["local_only"], true);
    assert_eq!(shown["clients"]["codex"], "never");
    assert_eq!(shown["models"]["default_coding"], "openai/gpt-5");
    assert_eq!(shown["agentsmd"]["home_agents_md"], false);
}

#[test]
fn config_set_on_the_template_changes_one_line() {
    let env = TestEnv::empty();
    env.ok(["init"]);
    env.ok(["config", "set", "clients.gemini", "never"]);
    let new = env.read("config/aiorch.toml");
    let changed: Vec<(&str, &str)> = TEMPLATE.lines().zip(new.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed, vec![("gemini = \"auto\"", "gemini = \"never\"")]);
    assert_eq!(TEMPLATE.lines().count(), new.lines().count());
}

#[test]
fn config_set_without_a_file_creates_it() {
    let env = TestEnv::empty();
    env.ok(["config", "set", "local_only", "true"]);
    let text = env.read("config/aiorch.toml");
    assert!(text.starts_with(TEMPLATE.lines().next().unwrap()), "starts from the commented template:\n{text}");
    assert_eq!(env.ok(["config", "show", "--json"]).json()["local_only"], true);
}

#[test]
fn config_set_refuses_bad_keys_and_values_byte_for_byte() {
    let env = TestEnv::with_config(COMMENTED);
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (&["local_onyl", "true"], "unknown field `local_onyl`", Some("hint: did you mean `local_only`?")),
        (&["clients.codx", "never"], "unknown field `codx`", Some("hint: did you mean `codex`?")),
        (&["clients.codex", "nevr"], "unknown variant `nevr`", Some("hint: did you mean `never`?")),
        (&["local_only", "yes"], "invalid type: string \"yes\", expected a boolean", None),
        (&["models", "3"], "invalid type: integer `3`", None),
        (&["local_only.x", "1"], "`local_only` in `local_only.x` is not a table", None),
        (&["a..b", "1"], "`a..b` is not a dotted key path", None),
    ];
    for (args, message, hint) in cases {
        let before = env.fingerprint();
        let mut full = vec!["config", "set"];
        full.extend_from_slice(args);
        let run = env.expect(&full, 2);
        run.assert_stderr_contains(message);
        if let Some(h) = hint {
            run.assert_stderr_contains(h);
        }
        assert_same(&before, &env.fingerprint(), &format!("config set {args:?}"));
    }
    assert_eq!(env.read("config/aiorch.toml"), COMMENTED);
}

#[test]
fn config_set_refuses_a_json_config() {
    let mut env = TestEnv::empty();
    env.write("config/aiorch.json", "{\"local_only\": false}\n");
    env.config = env.path("config/aiorch.json");
    let run = env.expect(["config", "set", "local_only", "true"], 2);
    run.assert_stderr_contains("is JSON");
    assert_eq!(env.read("config/aiorch.json"), "{\"local_only\": false}\n");
}

#[test]
fn config_show_json_and_text() {
    let env = TestEnv::with_config("local_only = true\n[clients]\ncodex = false\n");
    let v = env.ok(["config", "show", "--json"]).json();
    assert_eq!(v["local_only"], true);
    assert_eq!(v["clients"]["codex"], "never", "false means never");
    assert_eq!(v["clients"]["claude"], "auto", "defaults are filled in");
    assert_eq!(v["enable"], true);
    // The text form is TOML that parses to the same config.
    let text = env.ok(["config", "show"]).stdout;
    let env2 = TestEnv::with_config(&text);
    assert_eq!(env2.ok(["config", "show", "--json"]).json(), v);
}

#[test]
fn config_schema_describes_every_top_level_key() {
    let env = TestEnv::with_config("");
    let schema = env.ok(["config", "schema"]).json();
    assert_eq!(schema["type"], "object");
    let props = schema["properties"].as_object().expect("properties");
    let shown = env.ok(["config", "show", "--json"]).json();
    let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
    assert!(keys.len() >= 12, "{keys:?}");
    for k in keys {
        assert!(props.contains_key(k), "the schema lacks `{k}`");
    }
    for k in [
        "enable",
        "local_only",
        "models",
        "agentsmd",
        "clients",
        "secrets",
        "mcp",
        "plugins",
        "services",
        "runtime",
        "policy",
    ] {
        assert!(props.contains_key(k), "the schema lacks `{k}`");
    }
    assert_eq!(schema["additionalProperties"], false, "unknown keys are refused");
}

#[test]
fn config_path_honours_flag_env_and_xdg() {
    let env = TestEnv::empty();
    let home = env.home.display().to_string();
    let path = |extra: &[(&str, &str)], args: &[&str]| {
        let mut c = env.bare_cmd(["--home", &home].iter().chain(args).chain(&["config", "path"]));
        for (k, v) in extra {
            c.env(k, v);
        }
        let run = run_cmd(&mut c);
        run.assert_code(0);
        run.stdout.trim_end().to_string()
    };
    assert_eq!(path(&[], &[]), format!("{home}/.config/aiorch/aiorch.toml"));
    assert_eq!(path(&[("XDG_CONFIG_HOME", "/elsewhere")], &[]), "/elsewhere/aiorch/aiorch.toml");
    assert_eq!(path(&[("AIORCH_CONFIG", "/etc/aiorch/a.json")], &[]), "/etc/aiorch/a.json");
    assert_eq!(
        path(&[("AIORCH_CONFIG", "/etc/aiorch/a.json")], &["--config", "/tmp/b.toml"]),
        "/tmp/b.toml",
        "--config beats the env"
    );
    // A relative --config is made absolute against the working directory.
    assert_eq!(path(&[], &["--config", "rel/c.toml"]), format!("{}/rel/c.toml", env.root.display()));
    // AIORCH_CONFIG names a file that must exist.
    let mut c = env.bare_cmd(["--home", &home, "apply", "--dry-run"]);
    c.env("AIORCH_CONFIG", env.path("config/missing.toml"));
    run_cmd(&mut c).assert_code(2).assert_stderr_contains("cannot read config");
}
