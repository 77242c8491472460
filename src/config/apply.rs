//! `[apply]`: files another tool manages, which `aiorch apply` must leave alone.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyConfig {
    /// Files (or directories) that Nix writes as read-only links into the store, for example
    /// `~/.claude/settings.json` when home-manager's `programs.claude-code.settings` is set.
    /// The Nix modules fill this in when they hand aiorch's part to such a module: apply
    /// writes nothing at or under these paths (and forgets what it owned there), and
    /// `aiorch doctor` checks that the file Nix wrote carries what aiorch would have merged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nix_managed: Vec<NixManaged>,
}

/// One file Nix manages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NixManaged {
    /// The file or directory (`~/` is the home).
    pub path: String,
    /// The Nix option that writes it (`programs.claude-code`), shown by apply and doctor.
    pub by: String,
}
