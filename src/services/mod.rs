//! Services: the LiteLLM gateway, the local model server and Open WebUI (Services issue).

/// Free-form until the Services issue types it.
pub type ServicesConfig = std::collections::BTreeMap<String, serde_json::Value>;
