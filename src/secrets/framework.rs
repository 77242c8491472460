//! The opt-in in-process keychain reader (`secrets.reader = "framework"`, macOS only): the
//! Security framework's legacy file-keychain API, which can open a named keychain file (the
//! `keyring` crates cannot). Faster than spawning `security`, but the Keychain identifies the
//! reader by code signature, so each rebuild of aiorch may prompt for access again.

use std::path::Path;

use security_framework::os::macos::keychain::SecKeychain;

use super::Value;
use crate::error::CliError;

/// errSecItemNotFound.
const ITEM_NOT_FOUND: i32 = -25300;

/// The value of the generic password `name` (service) for `account` in the keychain at `path`.
pub fn get(path: &Path, name: &str, account: &str) -> anyhow::Result<Option<Value>> {
    let keychain = SecKeychain::open(path).map_err(|e| fail(path, e))?;
    match keychain.find_generic_password(name, account) {
        Ok((password, _item)) => {
            // Copy out of the framework's buffer (freed on drop) into memory we zero.
            let bytes = zeroize::Zeroizing::new(password.to_vec());
            drop(password);
            super::value_from_bytes(bytes, &|| format!("keychain item {name}")).map(Some)
        }
        Err(e) if e.code() == ITEM_NOT_FOUND => Ok(None),
        Err(e) => Err(fail(path, e)),
    }
}

fn fail(path: &Path, e: security_framework::base::Error) -> anyhow::Error {
    CliError::failed(format!("keychain backend (framework reader): {}: {e}", path.display()))
        .hint("unlock the keychain (`security unlock-keychain PATH`), or go back to secrets.reader = \"security\"")
        .into()
}
