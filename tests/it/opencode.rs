//! OpenCode as a managed client: the files `aiorch apply` writes for it (snapshots), the merge
//! into a user's `opencode.jsonc` (comments and their own servers kept), retraction and a
//! byte-exact revert, the permission policy, and `policy show`. Hermetic: nothing on PATH
//! (`clients.opencode = "always"`), a fixed aiorch path.

use serde_json::Value;

use crate::common::{POLICY_EVERY_KIND, TestEnv};

const SELF: &str = "/opt/aiorch/bin/aiorch";

const ONLY_OPENCODE: &str = "[clients]\nclaude = \"never\"\ngemini = \"never\"\ncodex = \"never\"\n\
                             copilot = \"never\"\nopencode = \"always\"\n[plugins]\ndefaults = false\n[agentsmd]\n\
                             home_agents_md = false\n";

const REGISTRY: &str = r#"
[mcp.servers.echo]
command = "/venv/bin/python"
args = ["/srv/echo_server.py", "--prefix=${PREFIX:-x}"]
env = { ECHO_PREFIX = "echo: ", LANG = "${LANG}" }
timeout = 30
tools = ["echo"]

[mcp.servers.web]
url = "http://127.0.0.1:18765/mcp"
headers = { Authorization = "Bearer ${WEB_TOKEN}", X-Static = "v" }
secrets = ["WEB_TOKEN"]

[mcp.servers.github]
command = "~/bin/github-mcp-server"
args = ["stdio"]
secrets = ["GITHUB_TOKEN"]

[mcp.servers.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
cwd = "~/projects"
"#;

const FILE: &str = "~/.config/opencode/opencode.json";
const JSONC: &str = "~/.config/opencode/opencode.jsonc";

fn env(extra: &str) -> TestEnv {
    let e = TestEnv::empty().only_bin_on_path().var("AIORCH_SELF", SELF);
    e.write_config(&format!("{ONLY_OPENCODE}{extra}"));
    e
}

/// The file as JSON, its `//` and `/* */` comments dropped (outside strings).
fn json(e: &TestEnv, rel: &str) -> Value {
    let text = e.read(rel);
    let (mut out, mut chars, mut in_str) = (String::new(), text.chars().peekable(), false);
    while let Some(c) = chars.next() {
        match c {
            '"' => in_str = !in_str,
            '\\' if in_str => {
                out.push(c);
                out.extend(chars.next());
                continue;
            }
            '/' if !in_str && chars.peek() == Some(&'/') => {
                chars.by_ref().take_while(|c| *c != '\n').for_each(drop);
                out.push('\n');
                continue;
            }
            '/' if !in_str && chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("{rel}: {err}\n{text}"))
}

#[test]
fn opencode_gets_instructions_commands_servers_and_policy_in_its_own_format() {
    let e = env(&format!("{REGISTRY}\n[policy]\nenable = true\n"));
    let notes = e.expect(["apply"], 0).stderr;
    insta::assert_snapshot!("opencode.json", e.filter(&e.read(FILE)));
    insta::assert_snapshot!("opencode_notes", e.filter(&notes));
    let link = std::fs::read_link(e.path("~/.config/opencode/AGENTS.md")).unwrap();
    assert!(link.ends_with("instructions/AGENTS.md"), "{}", link.display());
    let mut commands = String::new();
    for entry in std::fs::read_dir(e.path("~/.config/opencode/commands")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() == "review.md" {
            commands = std::fs::read_to_string(&p).unwrap();
        }
    }
    insta::assert_snapshot!("opencode_command_review", commands);
    let v = json(&e, FILE);
    // Secrets: a stdio server runs through `aiorch secrets exec`; a header names the variable.
    let github: Vec<&str> =
        v["mcp"]["github"]["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(
        github[0] == SELF && github.windows(4).any(|w| w == ["exec", "--only", "GITHUB_TOKEN", "--"]),
        "{github:?}"
    );
    assert_eq!(v["mcp"]["web"]["headers"]["Authorization"], "Bearer {env:WEB_TOKEN}");
    assert_eq!(v["permission"]["bash"]["rm -rf *"], "deny");
    e.expect(["apply", "--check"], 0);
}

#[test]
fn a_users_opencode_jsonc_keeps_its_comments_and_servers_and_reverts_byte_exact() {
    let e = env(REGISTRY);
    let mine = "// my OpenCode settings\n{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  \"model\": \
                \"anthropic/claude-sonnet-4-5\", // favourite\n  \"mcp\": {\n    /* hand-added */\n    \"mine\": \
                { \"type\": \"local\", \"command\": [\"mine\"] }\n  }\n}\n";
    e.write(JSONC, mine);
    e.expect(["apply"], 0);
    assert!(!e.exists(FILE), "aiorch wrote opencode.json beside the user's opencode.jsonc");
    let now = e.read(JSONC);
    insta::assert_snapshot!("opencode_merged.jsonc", e.filter(&now));
    for line in ["// my OpenCode settings", "// favourite", "/* hand-added */", "\"mine\": { \"type\": \"local\""] {
        assert!(now.contains(line), "lost {line:?}\n{now}");
    }
    // One server fewer: exactly its key goes.
    let fewer = REGISTRY.split("[mcp.servers.github]").next().unwrap();
    e.write_config(&format!("{ONLY_OPENCODE}{fewer}"));
    let out = e.expect(["apply"], 0).stdout;
    assert!(out.contains("-mcp.github"), "{out}");
    let names: Vec<String> = json(&e, JSONC)["mcp"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(names, ["mine", "aiorch", "echo", "web"]);
    e.expect(["revert"], 0);
    assert_eq!(e.read(JSONC), mine);
}

#[test]
fn opencode_policy_every_kind_and_what_it_cannot_express() {
    let e = env("");
    e.write("agentsmd/AGENTS.md", "# rules\n");
    e.write("agentsmd/permissions/policy.toml", POLICY_EVERY_KIND);
    let src = e.path("agentsmd");
    e.write_config(&format!(
        "[clients]\nclaude = \"never\"\ngemini = \"never\"\ncodex = \"never\"\ncopilot = \"never\"\n\
         opencode = \"always\"\n[plugins]\ndefaults = false\n[mcp]\nserve_self = false\n[agentsmd]\nsource = {:?}\n\
         home_agents_md = false\n[policy]\nenable = true\n",
        src.display().to_string()
    ));
    e.expect(["apply"], 0);
    let perm = &json(&e, FILE)["permission"];
    insta::assert_json_snapshot!("opencode_every_kind_permission", perm);
    // Last match wins in OpenCode: the catch-all first, every deny after every allow.
    let bash: Vec<(&String, &Value)> = perm["bash"].as_object().unwrap().iter().collect();
    assert_eq!(bash[0].0, "*");
    let last_allow = bash.iter().rposition(|(_, d)| *d == "allow").unwrap_or(0);
    let first_deny = bash.iter().skip(1).position(|(_, d)| *d == "deny").unwrap() + 1;
    assert!(last_allow < first_deny, "{bash:?}");
    let show = e.expect(["policy", "show", "--client", "opencode"], 0).stdout;
    insta::assert_snapshot!("opencode_policy_show", e.filter(&show));
    let doctor = e.run(["doctor"]).stdout;
    assert!(doctor.contains("opencode cannot express"), "{doctor}");
}

#[test]
fn a_users_own_opencode_permission_is_a_decision_not_a_replacement() {
    let e = env("[mcp]\nserve_self = false\n");
    let mine = "{\n  \"permission\": { \"bash\": { \"*\": \"allow\" } }\n}\n";
    e.write(FILE, mine);
    let err = e.expect(["apply"], 2).stderr;
    assert!(err.contains("`permission` is the user's own") && err.contains("--adopt permission"), "{err}");
    assert_eq!(e.read(FILE), mine, "nothing was changed");
    e.expect(["apply", "--adopt", "permission"], 0);
    assert_eq!(json(&e, FILE)["permission"]["bash"]["rm -rf *"], "deny");
    e.expect(["revert"], 0);
    assert_eq!(e.read(FILE), mine);
}

#[test]
fn an_adopted_opencode_permission_is_written_in_aiorchs_order() {
    // OpenCode decides by the last matching rule, so a member-by-member merge that kept the
    // user's `"rm -rf *": "allow"` ahead of a `"*"` would let the catch-all decide it.
    let fresh = env("[mcp]\nserve_self = false\n");
    fresh.expect(["apply"], 0);
    let ours = json(&fresh, FILE)["permission"].clone();
    let bash: Vec<&String> = ours["bash"].as_object().unwrap().keys().collect();
    let (star, rm) = (bash.iter().position(|k| *k == "*"), bash.iter().position(|k| *k == "rm -rf *"));
    assert!(star < rm, "aiorch renders the catch-all first: {bash:?}");

    let e = env("[mcp]\nserve_self = false\n");
    let mine = "{\n  \"permission\": { \"bash\": { \"rm -rf *\": \"allow\", \"*\": \"allow\" } }\n}\n";
    e.write(FILE, mine);
    e.expect(["apply", "--adopt", "permission"], 0);
    let got = json(&e, FILE)["permission"].clone();
    assert_eq!(serde_json::to_string(&got).unwrap(), serde_json::to_string(&ours).unwrap(), "order kept");
    let again = e.run(["apply", "--adopt", "permission", "--dry-run", "--json"]).stdout;
    assert!(!again.contains("\"permission\""), "a second apply changes nothing: {again}");

    e.expect(["revert"], 0);
    assert_eq!(e.read(FILE), mine);

    // Reordered by hand, the same members decide differently: doctor says so, apply puts it back,
    // and revert still gives the user's members in their order (the value, no longer their bytes).
    let in_order = |v: &Value| serde_json::to_string(v).unwrap();
    e.expect(["apply", "--adopt", "permission"], 0);
    let mut file = json(&e, FILE);
    let bash = file["permission"]["bash"].as_object_mut().unwrap();
    let rm = bash.shift_remove("rm -rf *").unwrap();
    let rest = std::mem::take(bash);
    bash.insert("rm -rf *".into(), rm);
    bash.extend(rest);
    e.write(FILE, serde_json::to_string_pretty(&file).unwrap());
    let doctor = e.run(["doctor"]);
    assert_eq!(doctor.code, Some(1), "{}", doctor.stdout);
    assert!(doctor.stdout.contains("`permission` is in another order than aiorch's"), "{}", doctor.stdout);
    e.expect(["apply"], 0);
    assert_eq!(in_order(&json(&e, FILE)["permission"]), in_order(&ours));
    e.expect(["revert"], 0);
    let theirs: Value = serde_json::from_str(mine).unwrap();
    assert_eq!(in_order(&json(&e, FILE)["permission"]), in_order(&theirs["permission"]));
}
