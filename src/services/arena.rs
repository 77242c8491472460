//! `aiorch arena start|stop`: Open WebUI against the gateway, for blind side-by-side
//! comparison ("Arena Model"), plus whatever it needs (the gateway, the local model). Only what
//! `arena start` started is stopped by `arena stop`.

use crate::error::Exit;
use crate::services::lifecycle::{self, Ctx, Started};
use crate::services::{Service, open_webui, render};

fn read_marker(ctx: &Ctx) -> Vec<Service> {
    let text = fs_err::read_to_string(ctx.layout.arena_marker()).unwrap_or_default();
    let keys: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
    Service::ALL.into_iter().filter(|s| keys.iter().any(|k| k == s.key())).collect()
}

fn write_marker(ctx: &Ctx, started: &[Service]) -> std::io::Result<()> {
    fs_err::create_dir_all(&ctx.layout.run)?;
    let keys: Vec<&str> = started.iter().map(|s| s.key()).collect();
    crate::apply::fsutil::write_atomic(&ctx.layout.arena_marker(), serde_json::to_string(&keys)?.as_bytes(), 0o644)
}

pub fn start(ctx: &Ctx) -> anyhow::Result<Exit> {
    render::write(&render::files(ctx.cfg, ctx.paths)?)?;
    if !ctx.cfg.services.litellm.enable {
        ctx.ui.note("services.litellm is not enabled: starting the gateway for the arena anyway");
    }
    let mut started = read_marker(ctx);
    let needed: Vec<Service> = Service::ALL
        .into_iter()
        .filter(|s| match s {
            Service::LocalModel => ctx.cfg.services.local_model.enable,
            // Needed only when the gateway keeps its state there.
            Service::Redis => ctx.cfg.services.redis.enable || ctx.cfg.services.litellm.redis,
            _ => true,
        })
        .collect();
    for svc in needed {
        if lifecycle::start(ctx, svc)? == Started::Now && !started.contains(&svc) {
            started.push(svc);
            // Recorded at once, so a later failure still lets `arena stop` clean up.
            write_marker(ctx, &started)?;
        }
    }
    let url = open_webui::base(ctx.cfg);
    if ctx.ui.json {
        ctx.ui.json(&serde_json::json!({ "url": url, "started": started }));
    } else {
        ctx.ui.data(&url);
        ctx.ui.out(
            "open it, choose \"Arena Model\" (two hidden models answer; vote for the better one), or pick two aliases \
             side by side",
        );
        ctx.ui.out("stop with `aiorch arena stop`");
    }
    Ok(Exit::Ok)
}

pub fn stop(ctx: &Ctx) -> anyhow::Result<Exit> {
    let mut started = read_marker(ctx);
    if started.is_empty() {
        // Nothing recorded: stop only Open WebUI (and only if aiorch started it).
        started.push(Service::OpenWebui);
    }
    lifecycle::down(ctx, &started)
}
