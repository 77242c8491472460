//! Redis as the gateway's shared state: LiteLLM keeps its per-deployment and provider budget
//! spend, rate-limit counters and (optionally) its response cache there, so a budget survives a
//! proxy restart and every proxy using the same Redis spends from one budget.
//!
//! The server gets its whole config on stdin (`redis-server -`): the password (`requirepass`)
//! is never on argv, in a file, or in the server's environment.

use std::path::Path;

use zeroize::Zeroizing;

use crate::config::Config;
use crate::services::health::Probe;
use crate::services::litellm::url_host;

/// argv: the configured command, then `-` (read the config from stdin).
pub fn argv(cfg: &Config) -> Vec<String> {
    let mut v = cfg.services.redis.command.clone();
    v.push("-".into());
    v
}

/// The config fed on stdin. Loopback bind and protected mode; an append-only file in the data
/// dir so the day's spend also survives a Redis restart; logs to stdout (aiorch's log file).
pub fn config_text(cfg: &Config, data_dir: &Path, password: Option<&str>) -> Zeroizing<String> {
    let r = &cfg.services.redis;
    let mut t = Zeroizing::new(format!(
        "bind {}\nport {}\nprotected-mode yes\ndir \"{}\"\nappendonly yes\nlogfile \"\"\ndaemonize no\n",
        r.host,
        r.port,
        data_dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"")
    ));
    if let Some(p) = password {
        t.push_str(&format!("requirepass \"{}\"\n", p.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    t
}

/// Where the gateway reaches it: a bare host (LiteLLM's `redis_host`), a bind-all address
/// reached through loopback.
pub fn address(cfg: &Config) -> (String, u16) {
    let r = &cfg.services.redis;
    let host = match r.host.as_str() {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h.trim_start_matches('[').trim_end_matches(']'),
    };
    (host.to_string(), r.port)
}

/// A `PING` over the Redis protocol (`redis://` probes are not HTTP).
pub fn probes(cfg: &Config) -> Vec<Probe> {
    let (h, p) = address(cfg);
    vec![Probe::new(format!("redis://{}:{p}", url_host(&h)), None)]
}

/// The secret holding the password, if one is configured.
pub fn password_secret(cfg: &Config) -> Option<String> {
    Some(cfg.services.redis.password_secret.clone()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_in_the_stdin_config_quoted_never_on_argv() {
        let cfg = crate::config::parse_str(
            "[services.redis]\nenable = true\nport = 7001\n",
            crate::config::Format::Toml,
            "t.toml",
        )
        .unwrap();
        assert_eq!(argv(&cfg), ["redis-server", "-"]);
        let t = config_text(&cfg, Path::new("/s/redis"), Some("p\"w d"));
        assert!(t.contains("bind 127.0.0.1\nport 7001\n"), "{}", *t);
        assert!(t.contains("dir \"/s/redis\"\n"));
        assert!(t.ends_with("requirepass \"p\\\"w d\"\n"), "{}", *t);
        assert!(!config_text(&cfg, Path::new("/s"), None).contains("requirepass"));
    }

    #[test]
    fn the_gateway_gets_a_bare_host_the_probe_a_url() {
        let cfg = crate::config::parse_str("[services.redis]\nhost = \"::1\"\n", crate::config::Format::Toml, "t.toml")
            .unwrap();
        assert_eq!(address(&cfg), ("::1".to_string(), 6379));
        assert_eq!(probes(&cfg)[0].url, "redis://[::1]:6379");
    }
}
