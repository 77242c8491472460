//! One permission policy for every client (Policy issue).

/// Free-form until the Policy issue types it.
pub type PolicyConfig = std::collections::BTreeMap<String, serde_json::Value>;
