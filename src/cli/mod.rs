//! The command line: the contract in DESIGN.md, one handler module per command family.

mod apply;
mod config;
mod doctor;
mod import;
mod mcp_serve;
mod meta;
mod models;
mod secrets;

pub use secrets::SecretsCmd;
mod plugins;
mod policy;
mod runtime;
mod services;
mod work;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::Exit;
use crate::paths::Paths;
use crate::ui::{ColorChoice, Ui};

#[derive(Debug, Parser)]
#[command(
    name = "aiorch",
    version,
    about = "One source of truth for every AI coding assistant on this machine",
    long_about = "aiorch generates and links assistant config (Claude Code, Gemini CLI, Codex CLI, Copilot CLI) from \
                  one agentsmd/ tree, merges MCP servers and plugins into the files the clients also write without \
                  losing a user's setting, injects secrets at exec time, runs the model services, and proves it all \
                  with `aiorch doctor`.",
    after_help = "Examples:\n  aiorch init                 write a commented config to ~/.config/aiorch/aiorch.toml\
                  \n  aiorch apply --dry-run      show what would change, with diffs\
                  \n  aiorch apply                link and merge everything\
                  \n  aiorch doctor               check that it all still holds\
                  \n  aiorch revert               undo everything aiorch did, restoring backups"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Config file (TOML or JSON) [default: $AIORCH_CONFIG, else $XDG_CONFIG_HOME/aiorch/aiorch.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Resolve every client path under DIR instead of $HOME
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// aiorch's state: ledger, backups, generated files [default: $XDG_STATE_HOME/aiorch]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print data as JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// More diagnostics on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to use colour (NO_COLOR is honoured with auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write a commented default config
    #[command(after_help = "Examples:\n  aiorch init\n  aiorch init --force   overwrite an existing config")]
    Init {
        /// Overwrite an existing config file
        #[arg(long)]
        force: bool,
    },
    /// Link and merge everything the config declares
    #[command(after_help = "Examples:\n  aiorch apply --dry-run   show the plan and a diff of every file\
                            \n  aiorch apply --check     exit 1 if anything drifted (for CI)\
                            \n  aiorch apply --home /tmp/h --state-dir /tmp/s   try it in a scratch home\
                            \n  aiorch apply --adopt github   take over the user's own `github` MCP server\n\n\
                            An MCP server the user already defined under a name aiorch declares is a conflict: apply\
                            \nstops (exit 2, nothing changed) and names both. Rename aiorch's in the config, or adopt\
                            \nthe user's with --adopt NAME: aiorch's replaces it, the user's is kept in the ledger and\
                            \n`aiorch revert` gives it back byte for byte. An identical entry is no conflict.")]
    Apply {
        /// Show what would change, with diffs, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Change nothing; exit 1 when anything would change
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
        /// Replace the user's own entry NAME (an MCP server) with aiorch's; revert gives it back (repeatable)
        #[arg(long, value_name = "NAME")]
        adopt: Vec<String>,
    },
    /// Undo everything aiorch owns and restore the backups
    Revert {
        /// Show what would be undone and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Where a backup holds a secret (kept there as a placeholder) whose value was rotated
        /// since, write the value the secrets backend has now instead of refusing that file
        #[arg(long)]
        current_secrets: bool,
    },
    /// Write a config (and agentsmd tree) from the clients' existing setup
    #[command(
        after_help = "Examples:\n  aiorch import --dry-run          print the config it would write, change nothing\
                            \n  aiorch import --store-secrets    write the config and store the tokens found\
                            \n  aiorch import --from claude,codex --out ./aiorch.toml --agentsmd ./agentsmd\
                            \n  aiorch import --nix > aiorch.nix  `programs.aiorch` for home-manager\n\n\
                            Reads each client's user-level MCP servers, instruction files (and what CLAUDE.md\
                            \nimports), commands, Claude's marketplaces, plugins and permission lists, and\
                            \nOpenCode's `permission` when the policy can say it the same way. A server in\
                            \nseveral clients is imported once (compared by command, args, environment names or URL);\
                            \none whose name is taken by a different server is left in its client, listed and commented\
                            \nout. A literal token in `env` (OpenCode: `environment`) or `headers` becomes a secret\
                            \nname the server references: --store-secrets stores the value with the secrets backend,\
                            \notherwise the import lists `aiorch secrets set NAME` to run. No value is ever written\
                            \nto the config or printed.\
                            \nNothing in the clients' files changes: `aiorch apply` takes them over afterwards, and\
                            \n`aiorch revert` gives them back byte for byte.\n\n\
                            Exit status: 0 written (conflicts are listed, not errors); 2 a client file does not\
                            \nparse, or the config or a tree file exists (without --force): nothing written."
    )]
    Import(ImportArgs),
    /// Check links, merged settings and everything else aiorch manages
    #[command(
        after_help = "Every MCP server is started (or reached) the way a client would, in parallel, and must answer \
                      initialize + tools/list.\n\nExamples:\n  aiorch doctor\
                      \n  aiorch doctor --json | jq '.checks[] | select(.status != \"ok\")'\
                      \n  aiorch doctor --no-connect   config-level checks only: start or contact no MCP server\n\n\
                      Exit status: 0 when every check passes, 1 when a check fails (or warns, with --strict)."
    )]
    Doctor {
        /// Treat warnings as failures
        #[arg(long)]
        strict: bool,
        /// Do not start or contact MCP servers (skip the handshakes)
        #[arg(long)]
        no_connect: bool,
    },
    /// List installed AI CLIs and model servers with their versions
    Agents,
    /// Claude Code plugin marketplaces and plugins
    #[command(subcommand, after_help = "Example:\n  aiorch apply && aiorch plugins sync")]
    Plugins(PluginsCmd),
    /// Show, locate, edit or describe the config
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Store secrets and run commands with them in their environment only
    #[command(
        subcommand,
        after_help = "Examples:\
                      \n  aiorch secrets setup                     create the ai-secrets keychain (macOS) or the 0600 \
                      file\n  aiorch secrets set GITHUB_TOKEN          prompts without echo (or reads stdin)\
                      \n  aiorch secrets list                      names only\
                      \n  aiorch secrets exec --only GITHUB_TOKEN -- github-mcp-server stdio\n\n\
                      Backend: secrets.backend = keychain (macOS default) | file (Linux default) | command | env."
    )]
    Secrets(SecretsCmd),
    /// Render, start, stop and check the model services (LiteLLM, local model, Open WebUI)
    #[command(
        subcommand,
        after_help = "Examples:\n  aiorch services render    write LiteLLM's config, Open WebUI's env, a compose file\
                      \n  aiorch services up        start what is enabled, wait until healthy\
                      \n  aiorch services status    health of each service (exit 1 if one is down)\
                      \n  aiorch services logs litellm\n  aiorch services down      stop what aiorch started"
    )]
    Services(services::ServicesCmd),
    /// Run one service in the foreground (for launchd/systemd units)
    #[command(subcommand, after_help = "Example:\n  aiorch service run litellm")]
    Service(services::ServiceCmd),
    /// Measure each model alias through the gateway: time to first token, tokens/s, errors
    Bench(services::BenchArgs),
    /// Open WebUI against the gateway, for side-by-side model comparison
    #[command(subcommand, after_help = "Examples:\n  aiorch arena start\n  aiorch arena stop")]
    Arena(services::ArenaCmd),
    /// The permission policy: what each client may run, read, write and fetch
    #[command(
        subcommand,
        after_help = "Examples:\n  aiorch policy show --client codex\n  aiorch policy check \"rm -rf build\""
    )]
    Policy(PolicyCmd),
    /// Print a shell completion script
    #[command(after_help = "Examples:\n  aiorch completions bash > ~/.local/share/bash-completion/completions/aiorch\
                            \n  aiorch completions zsh > \"${fpath[1]}/_aiorch\"\
                            \n  aiorch completions fish > ~/.config/fish/completions/aiorch.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    #[command(after_help = "Example:\n  aiorch man | man -l -")]
    Man,
    /// Print, as JSON, the settings aiorch merges into a client's settings file (what the Nix
    /// modules hand to home-manager's client modules; their checks compare against it)
    #[command(hide = true, after_help = "Example:\n  aiorch --config aiorch.json render --client claude")]
    Render {
        #[arg(long, value_enum)]
        client: crate::config::Client,
    },
    /// Ask one model, routed by role (streams the answer)
    #[command(after_help = "Examples:\n  aiorch ask \"why does this test flake?\"             routed by keywords\
                            \n  aiorch ask --role review \"is this regex safe?\"      role given (seed names work: \
                            oracle)\n  aiorch ask --model gpt-5-mini \"summarise RFC 9110\"  a model by id\
                            \n  aiorch ask --local \"explain this stack trace\"       local models only\
                            \n  aiorch ask --continuation-id ID \"and the edge cases?\"  continue a thread (any model, \
                            any tool)\
                            \n  git diff | aiorch ask --role review -              read the prompt from stdin")]
    Ask {
        /// planning|coding|review|search (or sisyphus|hephaestus|oracle|librarian); default: by keywords
        #[arg(long, value_parser = runtime::parse_role)]
        role: Option<crate::runtime::roles::Role>,
        /// A registry model id (see `aiorch route --list`)
        #[arg(long)]
        model: Option<String>,
        /// Use local models only (also `local_only = true` in the config)
        #[arg(long)]
        local: bool,
        /// Continue a conversation thread
        #[arg(long, value_name = "ID")]
        continuation_id: Option<String>,
        /// Output tokens to ask for [default: runtime.max_tokens]
        #[arg(long)]
        max_tokens: Option<u64>,
        /// The prompt (`-` reads stdin)
        #[arg(required = true)]
        prompt: Vec<String>,
    },
    /// Ask several models in parallel and weigh their verdicts
    #[command(after_help = "Priorities set the agreement needed: low 0.6, normal 0.7, high 0.8, critical 0.9.\n\
                            Recommendations: proceed, proceed with caution, review required, conflict.\n\nExamples:\
                            \n  aiorch consensus \"Should we store sessions in SQLite?\"\
                            \n  aiorch consensus --priority high --models gpt-5.6,claude-opus-4-8,gemini-2.5-pro \"Is \
                            this auth change safe?\"\
                            \n  aiorch consensus --local \"Rename the crate now or after the release?\"\
                            \n  aiorch consensus --json --no-synthesis \"…\" | jq .recommendation")]
    Consensus {
        #[arg(long, value_enum, default_value_t = crate::runtime::consensus::Priority::Normal)]
        priority: crate::runtime::consensus::Priority,
        /// Comma-separated model ids [default: the best available for the role]
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// The role whose scores weigh the votes [default: review]
        #[arg(long, value_parser = runtime::parse_role)]
        role: Option<crate::runtime::roles::Role>,
        #[arg(long)]
        local: bool,
        /// Skip the synthesis by the role's best model
        #[arg(long)]
        no_synthesis: bool,
        #[arg(long, value_name = "ID")]
        continuation_id: Option<String>,
        #[arg(required = true)]
        question: Vec<String>,
    },
    /// Explain which role and model a task would get, and why
    #[command(after_help = "Examples:\n  aiorch route \"fix the typo in README\"\
                            \n  aiorch route --role oracle \"check the migration\"\
                            \n  aiorch route --local --json \"design the cache\"\
                            \n  aiorch route --list            the model registry and which models are usable")]
    Route {
        #[arg(long, value_parser = runtime::parse_role)]
        role: Option<crate::runtime::roles::Role>,
        #[arg(long)]
        local: bool,
        /// List the model registry instead
        #[arg(long)]
        list: bool,
        task: Vec<String>,
    },
    /// Calls, success rate, latency, tokens, cost and routing savings per model and role
    #[command(after_help = "Examples:\n  aiorch stats\n  aiorch stats --days 7 --json")]
    Stats {
        /// Only the last N days [default: all]
        #[arg(long)]
        days: Option<u32>,
    },
    /// ai-go: preflight, start what the mode needs, and hand a task to an agent CLI (or the builtin pipeline)
    #[command(after_help = "The preflight probes what the run will use (keys resolve, the local server and gateway \
                      answer, the agent CLI starts) and stops with the fixes when nothing usable is left (exit 1).\n\n\
                      The agent runs headless with agentsmd/workflows/orchestrator-prompt.md and aiorch's MCP server \
                      (claude: --mcp-config + --allowedTools mcp__aiorch; codex: -c mcp_servers.aiorch; opencode: \
                      OPENCODE_CONFIG_CONTENT; gemini, copilot: their registry, copilot also the policy's \
                      --deny-tool/--allow-tool flags; aider: no MCP). Agent sandboxes and approvals stay on.\n\n\
                      --agent auto (runtime.go.agent) = the first installed CLI, else builtin; in local mode auto = \
                      builtin (agent CLIs use cloud models), and --local --agent opencode runs OpenCode on the local \
                      model. OLLAMA_HOST and the local endpoint are passed through.\n\nExamples:\
                      \n  aiorch go \"add --since to aiorch stats\"\
                      \n  aiorch go --local \"summarise the open TODOs\"\
                      \n  aiorch go --agent codex \"fix the flaky test in tests/it\"\
                      \n  aiorch go --dry-run --agent claude \"…\"     show the command, run nothing\
                      \n  aiorch go --queue --max-tasks 5 --budget 2   work through `aiorch task next` (resumes a \
                      killed run)")]
    Go {
        /// Local models only (overrides config)
        #[arg(long)]
        local: bool,
        #[arg(long, value_enum)]
        agent: Option<crate::runtime::go::Agent>,
        /// Preflight and show what would run; start nothing
        #[arg(long)]
        dry_run: bool,
        /// builtin agent: write the report here
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        queue: work::QueueFlags,
        /// The task (`-` reads stdin)
        #[arg(required_unless_present = "queue")]
        task: Vec<String>,
    },
    /// The project's task queue: priorities, dependencies, status and a log per task
    #[command(after_help = "A project is the git root above the working directory (or --project DIR); each has its \
                            own queue.\n\
                            `next` = the open task of highest priority whose --after tasks are all done; ties go to \
                            the oldest.\n\
                            `aiorch go --queue` works through it.\n\nExamples:\
                            \n  aiorch task add \"add --since to stats\" --priority high --role coding\
                            \n  aiorch task add \"document --since\" --after 1 --body notes.md\
                            \n  aiorch task list --status open,blocked\
                            \n  aiorch task next --json\
                            \n  aiorch task block 2 --note \"needs the API key\"")]
    Task(work::TaskArgs),
    /// The handoff log: what each agent or stage leaves the next
    #[command(after_help = "Examples:\
                            \n  aiorch handoff add --from plan --to implement --task 3 --done \"plan written\" \\\
                            \n      --file src/cli/mod.rs --question \"UTC or local time?\" --next \"add the flag\"\
                            \n  aiorch handoff list --task 3\
                            \n  aiorch handoff show --markdown > HANDOFFS.md")]
    Handoff(work::HandoffArgs),
    /// Memory that outlives a thread: facts per project, full-text searched (SQLite FTS5)
    #[command(after_help = "Examples:\
                            \n  aiorch memory add \"the staging database listens on 5433\"\
                            \n  aiorch memory search staging port\
                            \n  aiorch memory forget 12")]
    Memory(work::MemoryArgs),
    /// The morning report: done, blocked (and why), cost per task and model, what is next
    #[command(after_help = "Costs are summed from the ledger's calls on each task's thread.\n\nExamples:\
                            \n  aiorch report\
                            \n  aiorch report --since 3d --out report.md")]
    Report {
        #[command(flatten)]
        project: work::Project,
        /// Tasks done in this window: 12h, 3d, 90m, or unix seconds [default: 24h]
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Write the markdown here instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The model map: prices, context windows and retirement dates (LiteLLM's)
    #[command(
        subcommand,
        after_help = "Examples:\n  aiorch models update              LiteLLM's current map, from GitHub\
                      \n  aiorch models update --from FILE  a map file (LiteLLM's or a copy)\
                      \n  aiorch route --list                which map each price comes from"
    )]
    Models(ModelsCmd),
    /// The aiorch MCP server (runtime tools for any MCP client)
    #[command(
        subcommand,
        after_help = "Examples:\n  aiorch mcp tools\
                      \n  aiorch mcp serve   # what clients start (mcp.serve_self registers it)"
    )]
    Mcp(McpCmd),
    /// Run a multi-stage pipeline (feature, bugfix, review) and write a markdown report
    #[command(after_help = "Stages: feature = plan → implement → review → document; bugfix = investigate → \
                            diagnose → fix → review;\n\
                            review = summarise → review → consensus (includes `git diff HEAD` when run in a \
                            repository).\n\
                            The builtin pipeline writes text (plans, patches, reviews); `aiorch go` with an agent CLI \
                            edits files.\n\nExamples:\
                            \n  aiorch pipeline feature \"add --since to aiorch stats\" --out report.md\
                            \n  aiorch pipeline review \"the pending change\"\
                            \n  aiorch pipeline bugfix --local \"stats shows NaN with no calls\"")]
    Pipeline {
        #[arg(value_enum)]
        kind: crate::runtime::pipeline::Kind,
        /// Write the report here instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long)]
        local: bool,
        #[arg(required = true)]
        task: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCmd {
    /// Fetch LiteLLM's model map into the state dir: it replaces the built-in snapshot
    #[command(
        after_help = "The runtime and the gateway config price with it from then on (`aiorch route --list` shows \
                      which map a price comes from); `[runtime.models.ID]` prices still win. Only chat models of \
                      anthropic, openai and gemini are kept. `aiorch services up` also imports the map of the \
                      LiteLLM it runs when that one is newer.\n\nExamples:\n  aiorch models update          \
                      from LiteLLM's repository on GitHub\
                      \n  aiorch models update --from ./model_prices_and_context_window.json\
                      \n  aiorch models update --from https://example.com/model_prices.json --json"
    )]
    Update {
        /// A model map file or http(s) URL [default: LiteLLM's on GitHub]
        #[arg(long, value_name = "FILE|URL")]
        from: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum McpCmd {
    /// Serve the runtime's tools over MCP stdio (chat, consensus, codereview, precommit, planner, clink, route,
    /// listmodels, stats)
    #[command(
        after_help = "Clients start it themselves; register it as a stdio server with command `aiorch` and args \
                      [\"mcp\", \"serve\"].\n\nExamples:\n  claude mcp add -s user aiorch -- aiorch mcp serve\
                      \n  npx @modelcontextprotocol/inspector --cli aiorch mcp serve --method tools/list"
    )]
    Serve,
    /// List the tools with the size of their schemas (context cost for every client)
    #[command(
        after_help = "Examples:\n  aiorch mcp tools\n  aiorch mcp tools --json     the tools/list payload itself"
    )]
    Tools,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCmd {
    /// Install the declared marketplaces and plugins now, through `claude plugin`
    #[command(
        after_help = "Claude installs what `aiorch apply` declares in ~/.claude/settings.json over its next two \
                      sessions; this does it at once with `claude plugin marketplace add` and `claude plugin install` \
                      (HOME is the managed home). Run `aiorch apply` first.\n\nExamples:\
                      \n  aiorch apply && aiorch plugins sync\n  aiorch plugins sync --json\
                      \n  aiorch --home /tmp/h plugins sync\n\n\
                      Exit status: 0 when every item is installed (or left to Claude), 1 when one failed."
    )]
    Sync,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the effective config (defaults filled in)
    Show,
    /// Print the config file's path
    Path,
    /// Set KEY (dotted) to VALUE, keeping comments and layout
    #[command(after_help = "Examples:\n  aiorch config set local_only true\
                            \n  aiorch config set models.default_coding openai/gpt-5\
                            \n  aiorch config set clients.codex never")]
    Set { key: String, value: String },
    /// Print the JSON Schema of the config
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Print the effective policy as each client receives it, and what it cannot express
    #[command(after_help = "Examples:\n  aiorch policy show                  every client\
                            \n  aiorch policy show --client codex   one client\n  aiorch policy show --json")]
    Show {
        /// Only this client
        #[arg(long, value_enum, value_name = "NAME")]
        client: Option<crate::config::Client>,
    },
    /// Say what each client would do with a command (or a file, host or MCP tool)
    #[command(after_help = "Examples:\n  aiorch policy check \"rm -rf /\"\
                            \n  aiorch policy check \"git status && git push --force\"\
                            \n  aiorch policy check --kind read ~/.ssh/id_ed25519\
                            \n  aiorch policy check --kind host https://example.com/x\
                            \n  aiorch policy check --kind mcp github/create_issue --client claude --json")]
    Check {
        /// What SUBJECT is
        #[arg(long, value_enum, default_value = "command")]
        kind: crate::policy::Kind,
        /// Only this client
        #[arg(long, value_enum, value_name = "NAME")]
        client: Option<crate::config::Client>,
        /// The command line, path, URL or host, or `server/tool`
        subject: String,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Clients to read (comma-separated; default: all)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CLIENTS")]
    pub from: Option<Vec<crate::config::clients::Client>>,
    /// Print what would be written, write nothing, store nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Write a `programs.aiorch` Nix attribute set instead of aiorch.toml (to stdout without --out; the tree is
    /// still written)
    #[arg(long)]
    pub nix: bool,
    /// Where to write the config (default: the config file, `aiorch config path`)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The agentsmd tree to copy instruction files and commands into (default: agentsmd/ next to the config)
    #[arg(long, value_name = "DIR")]
    pub agentsmd: Option<PathBuf>,
    /// Store the tokens found in `env` and `headers` with the secrets backend
    #[arg(long)]
    pub store_secrets: bool,
    /// Overwrite an existing config file and tree files
    #[arg(long)]
    pub force: bool,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Exit::BadInput as u8 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(&cli.global);
    let ui = Ui::new(cli.global.color, cli.global.quiet, cli.global.json);
    match run(cli, &ui) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => ExitCode::from(print_error(&ui, &e) as u8),
    }
}

fn run(cli: Cli, ui: &Ui) -> anyhow::Result<Exit> {
    let g = &cli.global;
    let paths = Paths::resolve(g.home.clone(), g.state_dir.clone(), g.config.clone())?;
    match cli.command {
        Cmd::Init { force } => config::init(ui, &paths, force),
        Cmd::Apply { dry_run, check, adopt } => apply::apply(ui, &paths, dry_run, check, &adopt.into_iter().collect()),
        Cmd::Import(a) => import::import(ui, &paths, a),
        Cmd::Revert { dry_run, current_secrets } => apply::revert(ui, &paths, dry_run, current_secrets),
        Cmd::Doctor { strict, no_connect } => doctor::doctor(ui, &paths, strict, no_connect),
        Cmd::Agents => doctor::agents(ui, &paths),
        Cmd::Plugins(PluginsCmd::Sync) => plugins::sync(ui, &paths),
        Cmd::Config(c) => config::config(ui, &paths, c),
        Cmd::Secrets(c) => secrets::secrets(ui, &paths, c),
        Cmd::Services(c) => services::services(ui, &paths, c),
        Cmd::Service(c) => services::service(ui, &paths, c),
        Cmd::Bench(a) => services::bench(ui, &paths, a),
        Cmd::Arena(c) => services::arena(ui, &paths, c),
        Cmd::Policy(PolicyCmd::Show { client }) => policy::show(ui, &paths, client),
        Cmd::Policy(PolicyCmd::Check { kind, client, subject }) => policy::check(ui, &paths, client, kind, &subject),
        Cmd::Completions { shell } => meta::completions(shell),
        Cmd::Man => meta::man(),
        Cmd::Render { client } => apply::render(ui, &paths, client),
        Cmd::Ask { role, model, local, continuation_id, max_tokens, prompt } => {
            runtime::ask(ui, &paths, &prompt, runtime::AskOpts { role, model, local, continuation_id, max_tokens })
        }
        Cmd::Consensus { priority, models, role, local, no_synthesis, continuation_id, question } => {
            runtime::consensus(
                ui,
                &paths,
                &question,
                runtime::ConsensusOpts { priority, models, role, local, no_synthesis, continuation_id },
            )
        }
        Cmd::Route { role, local, list, task } => runtime::route(ui, &paths, &task, role, local, list),
        Cmd::Stats { days } => runtime::stats(ui, &paths, days),
        Cmd::Go { local, agent, queue, .. } if queue.queue => work::go_queue(ui, &paths, local, agent, queue),
        Cmd::Go { local, agent, dry_run, out, task, queue } => {
            queue.only_with_queue()?;
            runtime::go(ui, &paths, &task, runtime::GoOpts { local, agent, dry_run, out })
        }
        Cmd::Task(a) => work::task(ui, &paths, a),
        Cmd::Handoff(a) => work::handoff_cmd(ui, &paths, a),
        Cmd::Memory(a) => work::memory_cmd(ui, &paths, a),
        Cmd::Report { project, since, out } => work::report_cmd(ui, &paths, project, since, out),
        Cmd::Models(ModelsCmd::Update { from }) => models::update(ui, &paths, from.as_deref()),
        Cmd::Mcp(McpCmd::Serve) => mcp_serve::serve(&paths),
        Cmd::Mcp(McpCmd::Tools) => mcp_serve::tools(ui),
        Cmd::Pipeline { kind, out, local, task } => runtime::pipeline(ui, &paths, kind, &task, out, local),
    }
}

/// `error: …`, then each cause and each hint on its own line, in order.
fn print_error(ui: &Ui, e: &anyhow::Error) -> Exit {
    let r = crate::error::Report::of(e);
    eprintln!("{} {}", ui.paint(crate::ui::Style::Red, "error:"), r.message);
    for c in &r.causes {
        eprintln!("  {} {c}", ui.paint(crate::ui::Style::Dim, "caused by:"));
    }
    for h in &r.hints {
        eprintln!("  {} {h}", ui.paint(crate::ui::Style::Cyan, "hint:"));
    }
    r.exit
}

fn init_tracing(g: &Global) {
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIORCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(matches!(g.color, ColorChoice::Always))
        .without_time()
        .with_target(false)
        .try_init();
}

/// Load the config and the agentsmd tree: the common start of most commands.
pub struct Loaded {
    pub config: crate::config::Config,
    pub tree: crate::agentsmd::Tree,
}

impl Loaded {
    pub fn load(paths: &Paths) -> anyhow::Result<Loaded> {
        let config = crate::config::load(&paths.config_file, paths.config_explicit)?;
        let tree = crate::agentsmd::Tree::load(&config.agentsmd, paths)?;
        Ok(Loaded { config, tree })
    }

    pub fn ctx<'a>(&'a self, paths: &'a Paths) -> crate::clients::Ctx<'a> {
        crate::clients::Ctx { paths, config: &self.config, tree: &self.tree }
    }

    /// Every artifact the config declares.
    pub fn declared(&self, paths: &Paths) -> anyhow::Result<Vec<crate::apply::Artifact>> {
        crate::clients::declared(&self.ctx(paths))
    }
}

pub(crate) fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
