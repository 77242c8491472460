//! `aiorch policy show|check`: the effective permission policy per client, and what each
//! client would do with one action.

use serde_json::json;

use super::Loaded;
use crate::config::Client;
use crate::error::Exit;
use crate::paths::Paths;
use crate::policy::eval::{Env, Request, judge};
use crate::policy::{self, How, Kind, Translation};
use crate::ui::{Style, Ui};

fn clients_of(only: Option<Client>) -> Vec<Client> {
    only.map_or_else(|| Client::ALL.to_vec(), |c| vec![c])
}

fn status(loaded: &Loaded, c: Client) -> &'static str {
    if policy::rendered_clients(&loaded.config).contains(&c) {
        "rendered"
    } else if !loaded.config.policy.enable || !loaded.config.enable {
        "not rendered: policy.enable = false"
    } else if !loaded.config.policy.clients.get(c) {
        "not rendered: opted out in [policy.clients]"
    } else {
        "not rendered: client not managed"
    }
}

fn how_text(h: &How) -> String {
    match h {
        How::Native(n) => n.clone(),
        How::Partial { native, caveat } => format!("{native}  (partial: {caveat})"),
        How::Default(why) => format!("(client default) {why}"),
        How::Unexpressed { fallback, why } => format!("NOT EXPRESSIBLE → {}: {why}", fallback.name()),
    }
}

fn files(t: &Translation, paths: &Paths) -> Vec<String> {
    let mut v: Vec<String> = t.artifacts.iter().map(|a| paths.display(&a.path)).collect();
    v.dedup();
    v
}

pub fn show(ui: &Ui, paths: &Paths, only: Option<Client>) -> anyhow::Result<Exit> {
    let loaded = Loaded::load(paths)?;
    let p = policy::load(&loaded.config.policy, &loaded.tree)?;
    let source = policy::source_name(&loaded.tree);
    let translations: Vec<Translation> =
        clients_of(only).into_iter().map(|c| crate::clients::policy_translation(c, paths, &p)).collect();
    if ui.json {
        let clients: Vec<_> = translations
            .iter()
            .map(|t| {
                json!({
                    "client": t.client,
                    "status": status(&loaded, t.client),
                    "files": files(t, paths),
                    "posture": t.posture,
                    "rules": t.rules.iter().map(|(r, h)| json!({"rule": r, "how": h})).collect::<Vec<_>>(),
                    "unexpressed": t
                        .unexpressed()
                        .map(|(r, d, why)| json!({"rule": r.label(), "fallback": d, "why": why}))
                        .collect::<Vec<_>>(),
                    "notes": t.notes,
                })
            })
            .collect();
        ui.json(&json!({ "source": source, "posture": p.posture, "rules": p.rules, "clients": clients }));
        return Ok(Exit::Ok);
    }
    ui.data(&format!("policy: {source} + [policy] in {}", paths.display(&paths.config_file)));
    ui.data(&format!("posture: {} (what happens to an action no rule lists)", p.posture.decision().name()));
    ui.data(&format!("{} rules", p.rules.len()));
    for t in &translations {
        ui.data("");
        let fs = files(t, paths);
        let into = if fs.is_empty() { String::new() } else { format!(" → {}", fs.join(", ")) };
        ui.data(&format!("{} ({}){into}", ui.paint(Style::Bold, t.client.name()), status(&loaded, t.client)));
        ui.data(&format!("  posture  {}", how_text(&t.posture)));
        for (r, h) in &t.rules {
            if !matches!(h, How::Unexpressed { .. }) {
                ui.data(&format!("  {:<5} {:<8} {:<28} {}", r.decision.name(), r.kind.name(), r.pattern, how_text(h)));
            }
        }
        let un: Vec<_> = t.unexpressed().collect();
        if !un.is_empty() {
            ui.data(&format!("  {}", ui.paint(Style::Yellow, &format!("not expressible ({}):", un.len()))));
            // Grouped by what the client does instead, so each reason is said once.
            let mut groups: Vec<(crate::policy::Decision, &str, Vec<String>)> = vec![];
            for (r, fallback, why) in un {
                let item = format!("{} {} {:?}", r.decision.name(), r.kind.name(), r.pattern);
                match groups.iter_mut().find(|(f, w, _)| *f == fallback && *w == why) {
                    Some(g) => g.2.push(item),
                    None => groups.push((fallback, why, vec![item])),
                }
            }
            for (fallback, why, items) in groups {
                ui.data(&format!("    → {}: {why}", fallback.name()));
                ui.data(&format!("      {}", items.join(", ")));
            }
        }
        for n in &t.notes {
            ui.data(&format!("  note: {n}"));
        }
    }
    Ok(Exit::Ok)
}

pub fn check(ui: &Ui, paths: &Paths, only: Option<Client>, kind: Kind, subject: &str) -> anyhow::Result<Exit> {
    let loaded = Loaded::load(paths)?;
    let p = policy::load(&loaded.config.policy, &loaded.tree)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| paths.home.clone());
    let env = Env { home: &paths.home, cwd: &cwd };
    let req = Request { kind, subject: subject.to_string() };
    let own = judge(&p, None, &req, &env);
    let per: Vec<(Client, crate::policy::eval::Verdict)> = clients_of(only)
        .into_iter()
        .map(|c| {
            let t = crate::clients::policy_translation(c, paths, &p);
            (c, judge(&p, Some(&t), &req, &env))
        })
        .collect();
    if ui.json {
        let clients: Vec<_> = per
            .iter()
            .map(|(c, v)| {
                let mut o = serde_json::to_value(v).expect("verdict serialises");
                o["client"] = json!(c);
                o["status"] = json!(status(&loaded, *c));
                o
            })
            .collect();
        ui.json(&json!({ "kind": kind, "subject": subject, "policy": own, "clients": clients }));
        return Ok(Exit::Ok);
    }
    ui.data(&format!("{} {subject}", kind.name()));
    let paint = |d: crate::policy::Decision| {
        let style = match d {
            crate::policy::Decision::Allow => Style::Green,
            crate::policy::Decision::Ask => Style::Yellow,
            crate::policy::Decision::Deny => Style::Red,
        };
        ui.paint(style, &format!("{:<5}", d.name()))
    };
    let line = |who: &str, v: &crate::policy::eval::Verdict, extra: &str| {
        let part = v.part.as_ref().map(|p| format!(" [part: {p}]")).unwrap_or_default();
        ui.data(&format!("  {who:<8} {} {}{part}{extra}", paint(v.decision), v.reason));
    };
    line("policy", &own, "");
    for (c, v) in &per {
        let st = status(&loaded, *c);
        let extra = if st == "rendered" { String::new() } else { format!("  ({st})") };
        line(c.name(), v, &extra);
    }
    Ok(Exit::Ok)
}
