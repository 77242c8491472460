//! One check result, as `aiorch doctor` and `aiorch go`'s preflight report it. A leaf: every
//! feature builds its own checks with it, and `doctor` only gathers and prints them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub group: &'static str,
    pub name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(group: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { group, name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }
    pub fn warn(
        group: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check { group, name: name.into(), status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    pub fn fail(
        group: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check { group, name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}
