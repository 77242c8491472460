//! `aiorch services …`, `aiorch service run`, `aiorch bench`, `aiorch arena …`.

use clap::{Args, Subcommand};

use crate::error::Exit;
use crate::paths::Paths;
use crate::services::lifecycle::{self, Ctx};
use crate::services::{Service, arena, bench};
use crate::ui::Ui;

#[derive(Debug, Subcommand)]
pub enum ServicesCmd {
    /// Write LiteLLM's config.yaml, Open WebUI's environment and a compose file
    #[command(after_help = "Writes into STATE/services/: litellm.yaml (what `up` starts the proxy with), \
                            litellm.container.yaml, open-webui.env, compose.yaml. API keys appear as os.environ/NAME, \
                            never as values.\n\nExamples:\n  aiorch services render\
                            \n  aiorch services render --state-dir /tmp/s && cat /tmp/s/services/litellm.yaml")]
    Render,
    /// Start the enabled services (or the named ones) in the background and wait until healthy
    #[command(
        after_help = "Order: redis, local_model, litellm, open_webui. Secrets go into each process's environment \
                      only (Redis gets its config, password included, on stdin). Pid files: STATE/services/run/, \
                      logs: STATE/services/logs/.\n\nExamples:\n  aiorch services up\
                      \n  aiorch services up redis litellm"
    )]
    Up {
        #[arg(value_enum)]
        names: Vec<Service>,
    },
    /// Stop what `aiorch services up` started (never another process)
    #[command(after_help = "Examples:\n  aiorch services down\n  aiorch services down open_webui")]
    Down {
        #[arg(value_enum)]
        names: Vec<Service>,
    },
    /// Check every service's health endpoints in parallel
    #[command(after_help = "Exit status: 0 when every enabled (or named) service is healthy, 1 otherwise. A shared \
                      gateway ([gateway] url) is checked from here too: it answers and accepts this user's key \
                      (gateway.key_secret).\n\nExamples:\n  aiorch services status\n  aiorch services status --json")]
    Status {
        #[arg(value_enum)]
        names: Vec<Service>,
    },
    /// Show the last lines of a service's log (all services without NAME)
    #[command(after_help = "Examples:\n  aiorch services logs litellm\n  aiorch services logs local_model -n 200\
                            \n  aiorch services logs litellm -f")]
    Logs {
        #[arg(value_enum)]
        name: Option<Service>,
        /// Lines to show
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: usize,
        /// Keep printing what is appended (one service)
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Run one service in the foreground (what the launchd/systemd units of the Nix modules call)
    #[command(
        after_help = "aiorch renders the config, resolves the secrets into the environment and then replaces itself \
                      with the server, so the service manager supervises the server directly.\n\nExamples:\
                      \n  aiorch service run litellm\
                      \n  aiorch --config /nix/store/…-aiorch.json service run local_model"
    )]
    Run {
        #[arg(value_enum)]
        name: Service,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Each alias gets the same prompt through the gateway, streamed: time to first token, tokens/s and \
                  errors. Prints a table; writes JSON and an SVG chart under STATE/services/bench/ (or --out).\n\n\
                  Examples:\n  aiorch bench\n  aiorch bench --aliases local-coding,local-research -n 10\
                  \n  aiorch --json bench --aliases fast-model"
)]
pub struct BenchArgs {
    /// Aliases to measure (comma-separated) [default: all five]
    #[arg(long, value_delimiter = ',')]
    pub aliases: Vec<String>,
    /// Requests per alias (after one warm-up request)
    #[arg(short = 'n', long, default_value_t = 5)]
    pub requests: usize,
    /// Tokens to generate per request
    #[arg(long, default_value_t = 64)]
    pub max_tokens: u32,
    /// The prompt
    #[arg(long, default_value = "Write a short Python function that checks whether a number is prime.")]
    pub prompt: String,
    /// Directory for the JSON and SVG files
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// Per-request timeout, seconds
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum ArenaCmd {
    /// Start Open WebUI (and the gateway and local model it needs) and print its address
    #[command(after_help = "Example:\n  aiorch arena start   # then open the printed address and pick \"Arena Model\"")]
    Start,
    /// Stop what `arena start` started
    #[command(after_help = "Example:\n  aiorch arena stop")]
    Stop,
}

fn load(paths: &Paths) -> anyhow::Result<crate::config::Config> {
    crate::config::load(&paths.config_file, paths.config_explicit)
}

pub fn services(ui: &Ui, paths: &Paths, cmd: ServicesCmd) -> anyhow::Result<Exit> {
    let cfg = load(paths)?;
    let ctx = Ctx::new(ui, paths, &cfg);
    match cmd {
        ServicesCmd::Render => lifecycle::render(&ctx),
        ServicesCmd::Up { names } => lifecycle::up(&ctx, &names),
        ServicesCmd::Down { names } => lifecycle::down(&ctx, &names),
        ServicesCmd::Status { names } => lifecycle::status(&ctx, &names),
        ServicesCmd::Logs { name, lines, follow } => lifecycle::logs(&ctx, name, lines, follow),
    }
}

pub fn service(ui: &Ui, paths: &Paths, cmd: ServiceCmd) -> anyhow::Result<Exit> {
    let cfg = load(paths)?;
    let ctx = Ctx::new(ui, paths, &cfg);
    match cmd {
        ServiceCmd::Run { name } => lifecycle::run_foreground(&ctx, name),
    }
}

pub fn bench(ui: &Ui, paths: &Paths, args: BenchArgs) -> anyhow::Result<Exit> {
    let cfg = load(paths)?;
    let ctx = Ctx::new(ui, paths, &cfg);
    let opts = bench::Options {
        aliases: args.aliases,
        requests: args.requests,
        max_tokens: args.max_tokens,
        prompt: args.prompt,
        out: args.out,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    bench::run(&ctx, &opts)
}

pub fn arena(ui: &Ui, paths: &Paths, cmd: ArenaCmd) -> anyhow::Result<Exit> {
    let cfg = load(paths)?;
    let ctx = Ctx::new(ui, paths, &cfg);
    match cmd {
        ArenaCmd::Start => arena::start(&ctx),
        ArenaCmd::Stop => arena::stop(&ctx),
    }
}
