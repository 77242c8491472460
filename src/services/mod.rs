//! Services: the LiteLLM gateway, its Redis, the local model server and Open WebUI.
//!
//! `config` is the `[services.*]` schema; `litellm` plans the aliases, fallbacks and budgets;
//! `render` writes LiteLLM's YAML, Open WebUI's environment and a compose file; `process`
//! starts and stops what aiorch started (pid files with start times, process groups);
//! `redis` runs the gateway's shared state; `health` probes the endpoints; `bench` measures the
//! aliases through the gateway.

pub mod arena;
pub mod bench;
pub mod doctor;
pub mod gateway;
pub mod health;
pub mod lifecycle;
pub mod litellm;
pub mod local_model;
pub mod open_webui;
pub mod process;
pub mod redis;
pub mod render;

use std::path::PathBuf;

use crate::config::services::ServicesConfig;
use crate::paths::{Paths, expand_tilde};

/// A service aiorch can run. The order of `ALL` is the start order (each needs the previous).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
pub enum Service {
    #[value(name = "redis")]
    #[serde(rename = "redis")]
    Redis,
    #[value(name = "local_model", alias = "local-model")]
    #[serde(rename = "local_model")]
    LocalModel,
    #[value(name = "litellm")]
    #[serde(rename = "litellm")]
    Litellm,
    #[value(name = "open_webui", alias = "open-webui")]
    #[serde(rename = "open_webui")]
    OpenWebui,
}

impl Service {
    pub const ALL: [Service; 4] = [Service::Redis, Service::LocalModel, Service::Litellm, Service::OpenWebui];

    /// The config key (`services.<key>`), also the pid/log file stem and the unit's argument.
    pub fn key(self) -> &'static str {
        match self {
            Service::Redis => "redis",
            Service::LocalModel => "local_model",
            Service::Litellm => "litellm",
            Service::OpenWebui => "open_webui",
        }
    }

    pub fn enabled(self, s: &ServicesConfig) -> bool {
        match self {
            Service::Redis => s.redis.enable,
            Service::LocalModel => s.local_model.enable,
            Service::Litellm => s.litellm.enable,
            Service::OpenWebui => s.open_webui.enable,
        }
    }

    fn dirs(self, s: &ServicesConfig) -> (&Option<String>, &Option<String>) {
        match self {
            Service::Redis => (&s.redis.data_dir, &s.redis.log_dir),
            Service::LocalModel => (&s.local_model.data_dir, &s.local_model.log_dir),
            Service::Litellm => (&s.litellm.data_dir, &s.litellm.log_dir),
            Service::OpenWebui => (&s.open_webui.data_dir, &s.open_webui.log_dir),
        }
    }

    pub fn start_timeout(self, s: &ServicesConfig) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Service::Redis => s.redis.start_timeout_secs,
            Service::LocalModel => s.local_model.start_timeout_secs,
            Service::Litellm => s.litellm.start_timeout_secs,
            Service::OpenWebui => s.open_webui.start_timeout_secs,
        })
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// Where the services' files live; everything under the state dir unless the config says
/// otherwise (`data_dir`, `log_dir`).
#[derive(Debug, Clone)]
pub struct Layout {
    /// STATE/services: the rendered files.
    pub root: PathBuf,
    /// STATE/services/run: pid files.
    pub run: PathBuf,
    home: PathBuf,
}

impl Layout {
    pub fn new(paths: &Paths) -> Layout {
        let root = paths.state_dir.join("services");
        Layout { run: root.join("run"), root, home: paths.home.clone() }
    }

    pub fn litellm_config(&self) -> PathBuf {
        self.root.join("litellm.yaml")
    }
    /// The same config with loopback addresses rewritten for a container.
    pub fn litellm_container_config(&self) -> PathBuf {
        self.root.join("litellm.container.yaml")
    }
    pub fn webui_env(&self) -> PathBuf {
        self.root.join("open-webui.env")
    }
    pub fn compose(&self) -> PathBuf {
        self.root.join("compose.yaml")
    }
    pub fn pid_file(&self, svc: Service) -> PathBuf {
        self.run.join(format!("{}.json", svc.key()))
    }
    /// Services `aiorch arena start` started (so `arena stop` stops only those).
    pub fn arena_marker(&self) -> PathBuf {
        self.run.join("arena.json")
    }
    pub fn data_dir(&self, s: &ServicesConfig, svc: Service) -> PathBuf {
        match svc.dirs(s).0 {
            Some(d) => self.expand(d),
            None => self.root.join(svc.key()),
        }
    }
    pub fn log_file(&self, s: &ServicesConfig, svc: Service) -> PathBuf {
        let dir = match svc.dirs(s).1 {
            Some(d) => self.expand(d),
            None => self.root.join("logs"),
        };
        dir.join(format!("{}.log", svc.key()))
    }
    pub fn bench_dir(&self) -> PathBuf {
        self.root.join("bench")
    }
    fn expand(&self, p: &str) -> PathBuf {
        crate::paths::absolute(&expand_tilde(p, &self.home))
    }
}
