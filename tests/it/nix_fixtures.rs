//! The JSON the Nix modules render (fixtures kept equal to the modules' output by the flake's
//! `fixtures` check) must be a config `aiorch apply --config` accepts and converges on.

use crate::common::{Run, TestEnv, run_cmd};

fn run(env: &TestEnv, config: &str, cmd: &str) -> Run {
    let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
    run_cmd(&mut env.bare_cmd(["--home", home, "--state-dir", state, "--config", config, "--json", cmd]))
}

fn applies(fixture: &str) {
    applies_with(fixture, |_, _| {});
}

/// `prepare` sets the home up as home-manager would have before the activation runs apply.
/// Returns doctor's report.
fn applies_with(fixture: &str, prepare: impl Fn(&TestEnv, &str)) -> serde_json::Value {
    let env = TestEnv::empty();
    let path = env.path(&format!("config/{fixture}"));
    std::fs::copy(format!("{}/nix/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR")), &path).unwrap();
    let config = path.to_str().unwrap();
    prepare(&env, config);
    run(&env, config, "apply").assert_code(0);
    let again = run(&env, config, "apply");
    again.assert_code(0);
    let summary = &again.json()["summary"];
    assert_eq!(
        (&summary["created"], &summary["updated"], &summary["removed"]),
        (&0.into(), &0.into(), &0.into()),
        "second apply changed something{again}"
    );
    // The fixtures enable services that are not running here, so doctor as a whole fails;
    // what must hold is everything apply manages.
    let doctor = run(&env, config, "doctor").json();
    let managed: Vec<_> =
        doctor["checks"].as_array().unwrap().iter().filter(|c| c["group"] == "managed files").collect();
    assert!(!managed.is_empty() && managed.iter().all(|c| c["status"] == "ok"), "{doctor:#}");
    doctor
}

#[test]
fn home_manager_module_config_applies() {
    applies("hm-config.json");
}

#[test]
fn darwin_module_config_applies() {
    applies("darwin-config.json");
}

/// What the home-manager module hands to programs.claude-code (nix/compose.nix, computed in
/// Nix) is exactly what `aiorch render --client claude` prints for the config that module
/// renders: the flake's `fixtures` check holds the Nix side to these two files, this test the
/// binary's.
#[test]
fn compose_fixture_is_what_the_binary_renders_for_claude() {
    let env = TestEnv::empty();
    let fixtures = format!("{}/nix/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let config = env.path("config/compose-config.json");
    std::fs::copy(format!("{fixtures}/compose-config.json"), &config).unwrap();
    // the home the Linux evaluation used (its directory marketplace is expanded against it)
    let run =
        run_cmd(&mut render_cmd(&env, "/home/alice", env.state.to_str().unwrap(), config.to_str().unwrap(), "claude"));
    run.assert_code(0);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/compose-claude.json")).unwrap()).unwrap();
    assert_eq!(run.json(), expected, "nix/compose.nix and the binary disagree about ~/.claude/settings.json");
}

/// With programs.claude-code, ~/.claude/settings.json is a read-only link into the store that
/// carries aiorch's settings: apply leaves it alone and doctor finds it intact.
#[test]
fn compose_module_config_applies_beside_programs_claude_code() {
    use std::os::unix::fs::PermissionsExt;
    applies_with("compose-config.json", |env, config| {
        let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
        let fragment = run_cmd(&mut render_cmd(env, home, state, config, "claude")).assert_code(0).stdout.clone();
        env.write("store/claude-code-settings.json", &fragment);
        let store = env.path("store/claude-code-settings.json");
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
        std::fs::create_dir_all(env.path("~/.claude")).unwrap();
        std::os::unix::fs::symlink(&store, env.path("~/.claude/settings.json")).unwrap();
    });
}

/// The binary's `render --client NAME` for a fixture config, as the home-manager evaluation
/// sees it: home /home/alice, aiorch and the config in the store (`/nix/store/…`, as the
/// fixtures write store paths).
fn render_as_nix(env: &TestEnv, fixture: &str, client: &str) -> serde_json::Value {
    let fixtures = format!("{}/nix/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let config = env.path(&format!("config/{fixture}"));
    std::fs::copy(format!("{fixtures}/{fixture}"), &config).unwrap();
    let config = config.to_str().unwrap();
    let mut cmd = render_cmd(env, "/home/alice", env.state.to_str().unwrap(), config, client);
    cmd.env("AIORCH_SELF", "/nix/store/…/bin/aiorch");
    let run = run_cmd(&mut cmd);
    run.assert_code(0);
    let stdout = run.stdout.replace(config, "/nix/store/…");
    serde_json::from_str(&stdout.replace(env.state.to_str().unwrap(), "/home/alice/.local/state/aiorch")).unwrap()
}

/// What nix/compose.nix hands to programs.codex, programs.gemini-cli, programs.opencode and
/// programs.aider-chat is what the binary merges into those files for the same config (the
/// flake's `fixtures` check holds the Nix side to the same files). Aider's gateway keys come
/// from the model registry at run time and are not translated in Nix: the module warns.
#[test]
fn compose_fixtures_are_what_the_binary_renders_for_codex_gemini_opencode_aider() {
    let env = TestEnv::empty();
    for client in ["codex", "gemini", "opencode", "aider"] {
        let mut rendered = render_as_nix(&env, "compose-clients-config.json", client);
        let not_in_nix: &[&str] = if client == "aider" { &["openai-api-base", "alias"] } else { &[] };
        for k in not_in_nix {
            rendered.as_object_mut().unwrap().remove(*k);
        }
        let path = format!("{}/nix/tests/fixtures/compose-{client}.json", env!("CARGO_MANIFEST_DIR"));
        let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(rendered, expected, "nix/compose.nix and the binary disagree about {client}'s settings");
    }
}

/// With programs.codex, programs.gemini-cli, programs.opencode and programs.aider-chat composed, their settings files
/// are read-only links into the store that carry aiorch's part: apply leaves every one alone
/// (twice, converging) and doctor's managed checks are all ok.
#[test]
fn compose_clients_config_applies_beside_store_links_of_every_client_file() {
    use std::os::unix::fs::PermissionsExt;
    let doctor = applies_with("compose-clients-config.json", |env, config| {
        let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
        for (client, file) in [
            ("claude", "~/.claude/settings.json"),
            ("codex", "~/.codex/config.toml"),
            ("gemini", "~/.gemini/settings.json"),
            ("opencode", "~/.config/opencode/opencode.json"),
            ("aider", "~/.aider.conf.yml"),
        ] {
            let run = run_cmd(&mut render_cmd(env, home, state, config, client));
            run.assert_code(0);
            // JSON is YAML too (Aider's file)
            let text = if file.ends_with(".toml") {
                let v: toml::Value = serde_json::from_str(&run.stdout).unwrap();
                toml::to_string(&v).unwrap()
            } else {
                run.stdout.clone()
            };
            let store = env.path(&format!("store/{client}-settings"));
            env.write(&format!("store/{client}-settings"), &text);
            std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
            let link = env.path(file);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(&store, &link).unwrap();
        }
    });
    let checks = doctor["checks"].as_array().unwrap();
    for (file, by) in [
        ("~/.claude/settings.json", "programs.claude-code"),
        ("~/.codex/config.toml", "programs.codex"),
        ("~/.gemini/settings.json", "programs.antigravity-cli"),
        ("~/.config/opencode/opencode.json", "programs.opencode"),
        ("~/.aider.conf.yml", "programs.aider-chat"),
    ] {
        let label = format!("{file} managed by home-manager ({by})");
        let c = checks.iter().find(|c| c["name"] == label.as_str());
        assert!(c.is_some_and(|c| c["status"] == "ok"), "no ok check {label:?}: {doctor:#}");
    }
}

/// `aiorch render --client CLIENT` with that home, state dir and config.
fn render_cmd(env: &TestEnv, home: &str, state: &str, config: &str, client: &str) -> assert_cmd::Command {
    env.bare_cmd(["--home", home, "--state-dir", state, "--config", config, "render", "--client", client])
}

/// The instructions nix/compose.nix joins to a client module's own (`instructionsText`, from the
/// small tree nix/tests/fixtures/agentsmd: a dot file, a nested rule, files without a final
/// newline) are what the binary composes from that tree; home-manager's file with the user's
/// text and then aiorch's passes doctor's managed check, and one that lacks a line of aiorch's
/// does not.
#[test]
fn compose_instructions_fixture_is_what_the_binary_composes() {
    use std::os::unix::fs::PermissionsExt;
    let fixtures = format!("{}/nix/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let by = "programs.codex.custom-instructions";
    let env = TestEnv::with_config(&format!(
        "[clients]\nclaude = \"never\"\ngemini = \"never\"\ncodex = \"always\"\ncopilot = \"never\"\n\
         [mcp]\nserve_self = false\n[policy]\nenable = false\n\
         [agentsmd]\nsource = \"{fixtures}/agentsmd\"\nhome_agents_md = false\n\
         [apply]\nnix_managed = [{{ path = \"~/.codex/AGENTS.md\", by = \"{by}\" }}]\n"
    ));
    let nix: String =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/compose-instructions.json")).unwrap())
            .unwrap();
    // what home-manager writes: the user's text, then aiorch's (`lines` joins with a newline)
    let store = env.path("store/codex-AGENTS.md");
    let nix_file = |text: &str| {
        if store.exists() {
            std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        env.write("store/codex-AGENTS.md", text);
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
    };
    nix_file(&format!("be brief\n{nix}"));
    std::fs::create_dir_all(env.path("~/.codex")).unwrap();
    std::os::unix::fs::symlink(&store, env.path("~/.codex/AGENTS.md")).unwrap();
    env.ok(["apply"]);
    assert_eq!(
        env.read("state/generated/instructions/AGENTS.md"),
        nix,
        "nix/compose.nix and the binary compose the instructions differently"
    );
    let label = format!("~/.codex/AGENTS.md managed by home-manager ({by})");
    let check = |env: &TestEnv| {
        let doctor = crate::common::run_cmd(&mut env.cmd(["doctor", "--json"])).json();
        let c = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == label.as_str()).cloned();
        c.unwrap_or_else(|| panic!("no check {label:?}: {doctor:#}"))
    };
    assert_eq!(check(&env)["status"], "ok", "{:#}", check(&env));
    nix_file(&format!("be brief\n{}", nix.replacen("# Rule a\n", "", 1)));
    let c = check(&env);
    assert_eq!(c["status"], "warn", "{c:#}");
    assert!(c["detail"].as_str().unwrap().contains("lacks"), "{c:#}");
}

/// aiorch's commands as nix/compose.nix hands them to Gemini CLI's and OpenCode's modules
/// (`commandsFragments`, from nix/tests/fixtures/agentsmd: plain, double- and single-quoted
/// descriptions, none, no frontmatter, a nested name) are what the binary writes for the same
/// tree: Gemini's TOML parses to the same document (home-manager re-renders it), OpenCode's file
/// is byte for byte the same. A frontmatter Nix does not read (a block scalar) is left out there
/// and to `aiorch apply`.
#[test]
fn compose_commands_fixture_is_what_the_binary_writes() {
    let fixtures = format!("{}/nix/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let env = TestEnv::with_config(&format!(
        "[clients]\nclaude = \"never\"\ngemini = \"always\"\ncodex = \"never\"\ncopilot = \"never\"\n\
         opencode = \"always\"\n[mcp]\nserve_self = false\n[policy]\nenable = false\n\
         [agentsmd]\nsource = \"{fixtures}/agentsmd\"\nhome_agents_md = false\n"
    ));
    env.ok(["apply"]);
    let nix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/compose-commands.json")).unwrap()).unwrap();
    let gemini = nix["gemini"].as_object().unwrap();
    assert!(gemini.contains_key("git/nested") && !gemini.contains_key("block"), "{nix:#}");
    for (name, want) in gemini {
        let toml: toml::Table = toml::from_str(&env.read(&format!("~/.gemini/commands/{name}.toml"))).unwrap();
        let have = serde_json::to_value(toml).unwrap();
        assert_eq!(&have, want, "nix/compose.nix and the binary disagree about Gemini's /{name}");
    }
    for (name, want) in nix["opencode"].as_object().unwrap() {
        let have = env.read(&format!("~/.config/opencode/commands/{name}.md"));
        assert_eq!(have, want.as_str().unwrap(), "nix/compose.nix and the binary disagree about OpenCode's /{name}");
    }
    assert!(env.exists("~/.gemini/commands/block.toml"), "apply writes what Nix leaves out");

    // home-manager's files (Gemini's TOML rendered its own way) listed as Nix's: apply leaves
    // them alone and doctor finds aiorch's command in each
    let by = [("~/.gemini/commands/quoted.toml", "g"), ("~/.config/opencode/commands/git/nested.md", "o")];
    let managed: Vec<String> = by.iter().map(|(p, b)| format!("{{ path = \"{p}\", by = \"{b}\" }}")).collect();
    let env = TestEnv::with_config(&format!(
        "{}\n[apply]\nnix_managed = [{}]\n",
        std::fs::read_to_string(env.path("config/aiorch.toml")).unwrap(),
        managed.join(", ")
    ));
    let toml =
        toml::to_string(&serde_json::from_value::<toml::Table>(nix["gemini"]["quoted"].clone()).unwrap()).unwrap();
    assert!(!toml.contains("'''"), "rendered otherwise than the binary does: {toml}");
    for ((file, _), text) in by.iter().zip([toml.as_str(), nix["opencode"]["git/nested"].as_str().unwrap()]) {
        let store = env.path(&format!("store/{}", file.replace('/', "_")));
        env.write(&format!("store/{}", file.replace('/', "_")), text);
        std::fs::create_dir_all(env.path(file).parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&store, env.path(file)).unwrap();
    }
    env.ok(["apply"]);
    let doctor = crate::common::run_cmd(&mut env.cmd(["doctor", "--json"])).json();
    for (file, b) in by {
        let label = format!("{file} managed by home-manager ({b})");
        let c = doctor["checks"].as_array().unwrap().iter().find(|c| c["name"] == label.as_str());
        assert!(c.is_some_and(|c| c["status"] == "ok"), "no ok check {label:?}: {doctor:#}");
    }
}
