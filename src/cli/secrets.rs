//! `aiorch secrets setup|set|list|rm|exec`.

use std::ffi::OsString;

use clap::Subcommand;

use crate::error::{CliError, Exit};
use crate::paths::Paths;
use crate::secrets;
use crate::ui::Ui;

#[derive(Debug, Subcommand)]
pub enum SecretsCmd {
    /// Prepare the backend: create the `ai-secrets` keychain (asks for its password), or the 0600 file
    #[command(
        after_help = "Examples:\n  aiorch secrets setup\n  aiorch secrets setup --config ~/.config/aiorch/aiorch.toml\n\
                      \nmacOS (keychain backend): creates ~/Library/Keychains/ai-secrets.keychain-db with a password\n\
                      `security` asks for on the terminal, makes it lock on sleep and after an idle hour, and adds it\n\
                      to the search list. File backend: creates ~/.config/aiorch/secrets.env with mode 0600.\n\
                      Running it again only fixes what is missing."
    )]
    Setup,
    /// Store a secret; the value comes from the terminal (hidden) or stdin, never the command line
    #[command(after_help = "Examples:\n  aiorch secrets set GITHUB_TOKEN              prompts, input hidden\
                            \n  pbpaste | aiorch secrets set OPENAI_API_KEY   reads stdin (one trailing newline \
                            dropped)\n  gh auth token | aiorch secrets set GITHUB_TOKEN\n\n\
                            Refused (exit 2, nothing stored): a value with a NUL byte, and names the system or\
                            \nprograms read from the environment (PATH, HOME, USER, SHELL, TMPDIR, LANG, NODE_OPTIONS,\
                            \nPYTHONPATH, …, every LD_*, DYLD_*, LC_*, BASH_FUNC_* and AIORCH_* name).")]
    Set {
        /// The secret's name: the environment variable it becomes (e.g. GITHUB_TOKEN)
        name: String,
    },
    /// List the names the backend holds (never values)
    #[command(after_help = "Examples:\n  aiorch secrets list\n  aiorch secrets list --json")]
    List,
    /// Remove a secret
    #[command(after_help = "Example:\n  aiorch secrets rm OLD_TOKEN")]
    Rm {
        /// The secret's name
        name: String,
    },
    /// Run a command with secrets in its environment (and nowhere else)
    #[command(after_help = "Examples:\n  aiorch secrets exec --only GITHUB_TOKEN -- github-mcp-server stdio\
                            \n  aiorch secrets exec --only OPENAI_API_KEY,ANTHROPIC_API_KEY -- litellm --config \
                            cfg.yaml\
                            \n  aiorch secrets exec --mask -- env          every value shows as <redacted:NAME>\n\n\
                            --mask refuses (exit 2) a value shorter than 4 characters: marking where it occurs\
                            \nwould show it.\n\
                            Without --mask aiorch replaces itself with the command (same PID, signals and exit status).\
                            \nWith --mask it stays to filter stdout/stderr (which the command then sees as pipes, not \
                            the\nterminal), forwards signals, and exits with the command's status (128+N when a signal \
                            N killed it). A missing secret is an error (exit 2) and the command\n\
                            does not start; a command that cannot be found exits 127.")]
    Exec {
        /// Only these secrets (comma-separated, repeatable). Without it: every name the backend lists
        #[arg(long, value_name = "A,B")]
        only: Option<Vec<String>>,
        /// Stay, and replace every secret value in the command's stdout and stderr with <redacted:NAME>
        #[arg(long)]
        mask: bool,
        /// The command and its arguments (put them after --)
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
}

pub fn secrets(ui: &Ui, paths: &Paths, cmd: SecretsCmd) -> anyhow::Result<Exit> {
    let cfg = crate::config::load(&paths.config_file, paths.config_explicit)?.secrets;
    match cmd {
        SecretsCmd::Setup => secrets::setup(&cfg, paths, ui)?,
        SecretsCmd::Set { name } => {
            secrets::validate_new_name(&name)?;
            let store = secrets::open(&cfg, paths)?;
            let value = secrets::prompt::read_value(&name)?;
            secrets::validate_value(&name, &value)?;
            store.set(&name, &value)?;
            ui.out(&format!("stored {name} in the {}", store.describe()));
        }
        SecretsCmd::List => {
            let store = secrets::open(&cfg, paths)?;
            let names = store.list()?;
            if ui.json {
                ui.json(
                    &serde_json::json!({ "backend": cfg.backend.name(), "store": store.describe(), "names": names }),
                );
            } else {
                for n in &names {
                    ui.data(n);
                }
                if names.is_empty() {
                    ui.note(&format!("no secrets in the {}; add one with `aiorch secrets set NAME`", store.describe()));
                }
            }
        }
        SecretsCmd::Rm { name } => {
            secrets::validate_name(&name)?;
            let store = secrets::open(&cfg, paths)?;
            if !store.remove(&name)? {
                return Err(CliError::bad_input(format!("there is no secret {name} in the {}", store.describe()))
                    .hint("`aiorch secrets list` shows the names")
                    .into());
            }
            ui.out(&format!("removed {name} from the {}", store.describe()));
        }
        SecretsCmd::Exec { only, mask, command } => {
            let store = secrets::open(&cfg, paths)?;
            let names = match only {
                Some(only) => secrets::parse_only(&only)?,
                None => store.list().map_err(|e| match e.downcast::<CliError>() {
                    Ok(c) => c.hint("or name the secrets the command needs with --only A,B").into(),
                    Err(e) => e,
                })?,
            };
            let values = secrets::resolve_from(store.as_ref(), &names)?;
            drop(store);
            tracing::debug!(names = ?names, mask, "secrets exec");
            let code = if mask {
                secrets::mask::check_maskable(&values)?;
                match secrets::exec::supervise(&command, values) {
                    Ok(code) => code,
                    Err(e) => start_failed(ui, e),
                }
            } else {
                start_failed(ui, secrets::exec::replace(&command, values))
            };
            std::process::exit(code.into());
        }
    }
    Ok(Exit::Ok)
}

/// The command could not be started: say so and exit with the shell's code (127 / 126).
fn start_failed(ui: &Ui, e: secrets::exec::StartError) -> u8 {
    eprintln!("{} {}", ui.paint(crate::ui::Style::Red, "error:"), e.message);
    e.code
}
