//! `aiorch completions SHELL` and `aiorch man`.

use crate::error::Exit;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut cmd = super::cli_command();
    clap_complete::generate(shell, &mut cmd, "aiorch", &mut std::io::stdout());
    Ok(Exit::Ok)
}

pub fn man() -> anyhow::Result<Exit> {
    let cmd = super::cli_command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
    Ok(Exit::Ok)
}
