//! The `env` backend: secrets come from aiorch's own environment (tests, containers, CI jobs
//! whose runner already injects them). `exec` then only checks that the names are present.

use super::{Store, Value};
use crate::error::CliError;

pub struct EnvStore;

impl Store for EnvStore {
    fn describe(&self) -> String {
        "env backend (aiorch's own environment)".into()
    }

    fn get(&self, name: &str) -> anyhow::Result<Option<Value>> {
        match std::env::var_os(name) {
            None => Ok(None),
            Some(v) => match v.into_string() {
                Ok(s) => Ok(Some(Value::new(s))),
                Err(os) => {
                    drop(zeroize::Zeroizing::new(std::os::unix::ffi::OsStringExt::into_vec(os)));
                    Err(CliError::bad_input(format!("environment variable {name} is not UTF-8 text")).into())
                }
            },
        }
    }

    fn contains(&self, name: &str) -> anyhow::Result<bool> {
        Ok(std::env::var_os(name).is_some())
    }

    fn set(&self, _name: &str, _value: &str) -> anyhow::Result<()> {
        Err(unsupported("set"))
    }

    fn remove(&self, _name: &str) -> anyhow::Result<bool> {
        Err(unsupported("rm"))
    }

    fn list(&self) -> anyhow::Result<Vec<String>> {
        Err(unsupported("list"))
    }

    fn fix_missing(&self, name: &str) -> String {
        format!(
            "export {name} in the environment that runs aiorch, or choose another backend (secrets.backend = \"file\" \
             | \"keychain\" | \"command\")"
        )
    }
}

fn unsupported(what: &str) -> anyhow::Error {
    CliError::bad_input(format!(
        "the env backend cannot {what} secrets: it only passes through aiorch's own environment"
    ))
    .hint(
        "export the variable in the shell or service that runs aiorch, or set secrets.backend to file, keychain or \
         command",
    )
    .into()
}
