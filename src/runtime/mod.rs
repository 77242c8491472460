//! The orchestration runtime (Runtime issue).

/// Free-form until the Runtime issue types it.
pub type RuntimeConfig = std::collections::BTreeMap<String, serde_json::Value>;
