//! The runtime object: config + registry + ledger, and the one path every model call takes:
//! resolve the key at call time, reserve budget, send with a timeout, settle the ledger, and
//! on a typed error move along the fallback chain.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

use super::ledger::{BUDGET_KEY, BudgetExceeded, CallRecord, Ledger, Turn};
use super::provider::{self, ChatRequest, Message, ProviderError};
use super::registry::{Model, Registry, Via};
use super::roles::{Role, classify};
use super::router::{self, Route};
use crate::config::Config;
use crate::error::CliError;
use crate::paths::Paths;
use crate::ui::now_unix;

/// What a streaming call reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Delta<'a> {
    /// The next piece of the current attempt's answer.
    Text(&'a str),
    /// The attempt that streamed the text so far failed: drop it (the next attempt, if any,
    /// streams its answer from the start).
    Discard { model: &'a str },
}

/// Streamed output arrives here (None: no streaming).
pub type OnDelta<'a> = Option<&'a (dyn Fn(Delta<'_>) + Send + Sync)>;

/// Cooperative cancellation shared by every call of a request (Ctrl-C, SIGTERM, SIGHUP, MCP
/// cancel, the MCP client hanging up).
#[derive(Clone, Default)]
pub struct Cancel(Arc<(AtomicBool, Notify)>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }
    pub async fn cancelled(&self) {
        loop {
            let n = self.0.1.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
}

pub struct Runtime {
    pub cfg: Config,
    pub paths: Paths,
    pub reg: Registry,
    pub ledger: Ledger,
    /// Secret names known to resolve (or not) in this process: presence only, never values.
    key_presence: Mutex<BTreeMap<String, bool>>,
}

/// One model call, with the chain to walk on failure.
pub struct CallSpec<'a> {
    pub role: Role,
    pub tool: &'a str,
    pub chain: Vec<String>,
    pub messages: Vec<Message>,
    pub max_tokens: u64,
    pub temperature: Option<f64>,
    pub thread_id: Option<String>,
    pub on_delta: OnDelta<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub model: String,
    pub error: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallOutcome {
    pub model: String,
    pub text: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: f64,
    pub latency_ms: u64,
    /// The deployment that really answered behind a gateway alias (LiteLLM's own fallback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    /// Failed attempts before the one that answered.
    pub fallbacks: Vec<Attempt>,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Budget(#[from] BudgetExceeded),
    #[error("every model failed: {}", summary(.0))]
    Exhausted(Vec<Attempt>),
    #[error("no usable model: {0}")]
    NoModel(String),
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The CLI form of an exhausted budget: what was spent of what, when it resets, what to raise.
pub fn budget_error(b: &BudgetExceeded) -> CliError {
    CliError::failed(b.to_string()).hint(format!(
        "raise `{BUDGET_KEY}` in the config (now {:.4}), wait for the reset, or use --local (local models cost \
         nothing)",
        b.limit
    ))
}

fn summary(a: &[Attempt]) -> String {
    a.iter().map(|a| format!("{} ({})", a.model, a.error)).collect::<Vec<_>>().join("; ")
}

impl CallError {
    /// As a CLI error with the exit code and a hint.
    pub fn into_cli(self) -> anyhow::Error {
        match self {
            CallError::Budget(b) => budget_error(&b).into(),
            CallError::NoModel(m) => CliError::failed(format!("no usable model: {m}"))
                .hint("`aiorch route TASK` explains the choice; set API keys with `aiorch secrets set NAME`")
                .into(),
            CallError::Internal(e) => e,
            other => CliError::failed(other.to_string()).into(),
        }
    }
}

impl Runtime {
    pub fn open(cfg: Config, paths: Paths) -> anyhow::Result<Runtime> {
        let ledger = Ledger::open(&paths.state_dir.join("runtime.db"))?;
        Runtime::with_ledger(cfg, paths, ledger)
    }

    /// For looking only (doctor): the ledger if it exists, else an empty one in memory.
    pub fn inspect(cfg: Config, paths: Paths) -> anyhow::Result<Runtime> {
        let db = paths.state_dir.join("runtime.db");
        let ledger = if db.exists() { Ledger::open(&db)? } else { Ledger::in_memory()? };
        Runtime::with_ledger(cfg, paths, ledger)
    }

    fn with_ledger(cfg: Config, paths: Paths, ledger: Ledger) -> anyhow::Result<Runtime> {
        let reg = Registry::load(&cfg, &crate::modelmap::ModelMap::load(&paths.state_dir))?;
        let ttl = (cfg.runtime.threads.ttl_hours * 3600) as i64;
        let _ = ledger.expire_threads(now_unix(), ttl);
        Ok(Runtime { cfg, paths, reg, ledger, key_presence: Mutex::new(BTreeMap::new()) })
    }

    pub fn local_only(&self, flag: bool) -> bool {
        flag || self.cfg.local_only
    }

    /// USD left today (never negative).
    pub fn budget_left(&self) -> anyhow::Result<f64> {
        let (spent, held) = self.ledger.spent_today(now_unix())?;
        Ok((self.cfg.runtime.budget.daily_usd - spent - held).max(0.0))
    }

    /// Whether `m` has what it needs to be called (a resolvable key when it needs one).
    pub fn available(&self, m: &Model) -> Result<(), String> {
        let Some(name) = &m.key else { return Ok(()) };
        let mut cache = self.key_presence.lock().unwrap_or_else(|p| p.into_inner());
        let present = *cache.entry(name.clone()).or_insert_with(|| {
            crate::secrets::resolve(&self.cfg.secrets, &self.paths, std::slice::from_ref(name)).is_ok()
        });
        if present { Ok(()) } else { Err(format!("no key ({name} does not resolve)")) }
    }

    /// Route a task: classify it (unless a role is given) and pick model + chain.
    pub fn route(
        &self,
        task: &str,
        role: Option<Role>,
        local: bool,
        pinned: Option<&str>,
        tokens_in: u64,
    ) -> anyhow::Result<Route> {
        self.route_within(task, role, local, pinned, tokens_in, Some(self.budget_left()?))
    }

    fn route_within(
        &self,
        task: &str,
        role: Option<Role>,
        local: bool,
        pinned: Option<&str>,
        tokens_in: u64,
        budget_left: Option<f64>,
    ) -> anyhow::Result<Route> {
        let req = router::Request {
            class: classify(task, role),
            local_only: self.local_only(local),
            tokens_in,
            max_out: self.cfg.runtime.max_tokens,
            budget_left,
            pinned,
        };
        if let Some(id) = pinned {
            self.reg.require(id)?;
        }
        Ok(router::route(&self.cfg, &self.reg, &req, &|m| self.available(m)))
    }

    /// When `route` found no model: the budget error if the budget is why (the same request
    /// without a budget finds one), else None.
    pub fn budget_blocks(
        &self,
        route: &Route,
        task: &str,
        local: bool,
        pinned: Option<&str>,
        tokens_in: u64,
    ) -> anyhow::Result<Option<BudgetExceeded>> {
        if route.chosen.is_some() {
            return Ok(None);
        }
        let free = self.route_within(task, Some(route.role), local, pinned, tokens_in, None)?;
        let Some(id) = free.chosen else { return Ok(None) };
        let need = free.candidates.iter().find(|c| c.id == id).map_or(0.0, |c| c.max_cost);
        Ok(Some(self.budget_exceeded(need)?))
    }

    /// The budget error for a call that may cost `need`, with today's figures.
    pub fn budget_exceeded(&self, need: f64) -> anyhow::Result<BudgetExceeded> {
        let now = now_unix();
        let (spent, held) = self.ledger.spent_today(now)?;
        Ok(BudgetExceeded {
            limit: self.cfg.runtime.budget.daily_usd,
            spent,
            held,
            need,
            day: super::ledger::day(now),
            now,
        })
    }

    /// Call along `spec.chain` until one model answers.
    pub async fn call(&self, spec: CallSpec<'_>, cancel: &Cancel) -> Result<CallOutcome, CallError> {
        if spec.chain.is_empty() {
            return Err(CallError::NoModel("the chain is empty".into()));
        }
        let baseline = self.reg.baseline(&self.cfg).cloned();
        let req = ChatRequest { messages: spec.messages, max_tokens: spec.max_tokens, temperature: spec.temperature };
        let tokens_in = provider::estimate_tokens(req.messages.iter().map(|m| m.content.as_str()));
        let ceiling_in = provider::ceiling_tokens(&req.messages);
        let mut attempts: Vec<Attempt> = vec![];
        let mut bad_credentials: BTreeSet<(String, Option<String>)> = BTreeSet::new();
        let mut needed_context: u64 = 0;
        for id in &spec.chain {
            if cancel.is_cancelled() {
                return Err(CallError::Cancelled);
            }
            let Some(model) = self.reg.get(id) else {
                attempts.push(Attempt {
                    model: id.clone(),
                    error: "not in the registry".into(),
                    kind: "unknown_model",
                });
                continue;
            };
            let cred = (model.base_url.clone(), model.key.clone());
            if bad_credentials.contains(&cred) {
                attempts.push(Attempt {
                    model: id.clone(),
                    error: "skipped: same credentials just failed".into(),
                    kind: "auth",
                });
                continue;
            }
            if needed_context > 0 && model.context_window <= needed_context {
                attempts.push(Attempt {
                    model: id.clone(),
                    error: "skipped: context window no larger".into(),
                    kind: "context_window",
                });
                continue;
            }
            let max_out = spec.max_tokens.min(model.max_output);
            let req = ChatRequest { max_tokens: max_out, ..req.clone() };
            match self
                .call_one(
                    model,
                    &req,
                    (tokens_in, ceiling_in),
                    spec.role,
                    spec.tool,
                    spec.thread_id.as_deref(),
                    baseline.as_ref(),
                    spec.on_delta,
                    cancel,
                )
                .await
            {
                Ok(mut out) => {
                    out.fallbacks = attempts;
                    return Ok(out);
                }
                Err(OneError::Call(e)) => return Err(e),
                Err(OneError::Provider(ProviderError::Cancelled)) => return Err(CallError::Cancelled),
                Err(OneError::Provider(e)) => {
                    if e.is_credential() {
                        bad_credentials.insert(cred);
                    }
                    if matches!(e, ProviderError::ContextWindow { .. }) {
                        needed_context = model.context_window;
                    }
                    tracing::info!("{} failed ({e}), trying the next model", model.id);
                    attempts.push(Attempt { model: model.id.clone(), kind: e.kind(), error: e.to_string() });
                    if !e.falls_back() {
                        break;
                    }
                }
            }
        }
        Err(CallError::Exhausted(attempts))
    }

    /// One attempt on one model: key, reservation, request with timeout, settlement.
    #[allow(clippy::too_many_arguments)]
    async fn call_one(
        &self,
        model: &Model,
        req: &ChatRequest,
        (tokens_in, ceiling_in): (u64, u64),
        role: Role,
        tool: &str,
        thread: Option<&str>,
        baseline: Option<&Model>,
        on_delta: OnDelta<'_>,
        cancel: &Cancel,
    ) -> Result<CallOutcome, OneError> {
        // The key is read now and dropped (zeroised) when this call ends.
        let key = match &model.key {
            Some(name) => match crate::secrets::resolve(&self.cfg.secrets, &self.paths, std::slice::from_ref(name)) {
                Ok(mut v) => Some(v.remove(0).1),
                Err(e) => {
                    // Keyless local servers and gateways without auth still work without it.
                    if model.via == Via::Direct && !model.local {
                        return Err(OneError::Provider(ProviderError::NoKey(format!("{e:#}"))));
                    }
                    None
                }
            },
            None => None,
        };
        let now = now_unix();
        // The reservation is a ceiling the call cannot exceed: every prompt byte as a token and
        // the whole max_tokens as output (see ledger.rs).
        let reserve = model.cost(ceiling_in, req.max_tokens);
        let reservation = self.ledger.reserve(now, reserve, self.cfg.runtime.budget.daily_usd).map_err(|e| {
            match e.downcast::<BudgetExceeded>() {
                Ok(b) => OneError::Call(CallError::Budget(b)),
                Err(e) => OneError::Call(CallError::Internal(e)),
            }
        })?;
        let partial = Mutex::new(Partial::default());
        // If this future is dropped mid-call (a cancelled MCP request, a dropped fan-out, the
        // process shutting down), the guard settles the reservation as a cancelled call with
        // what streamed so far, so it neither holds budget nor loses billed tokens.
        let mut held = Held {
            ledger: &self.ledger,
            id: reservation,
            settled: false,
            model,
            baseline,
            role,
            tool,
            thread,
            tokens_in,
            started: Instant::now(),
            partial: &partial,
        };
        let tap = |d: &str| {
            partial.lock().unwrap_or_else(|p| p.into_inner()).add(d);
            if let Some(sink) = on_delta {
                sink(Delta::Text(d));
            }
        };
        // Every call streams, whether or not its caller shows the text: a call that fails or is
        // cancelled midway is billed for what came back, and a stalled stream is visible.
        let tap: provider::OnText<'_> = Some(&tap);
        let timeout = Duration::from_secs(self.cfg.runtime.timeout_secs.max(1));
        let result = tokio::select! {
            r = tokio::time::timeout(
                timeout,
                provider::chat(model, key.as_ref().map(|k| k.as_str()), req, tap),
            ) => match r {
                Ok(r) => r,
                Err(_) => Err(ProviderError::Timeout { after_ms: timeout.as_millis() as u64 }),
            },
            _ = cancel.cancelled() => Err(ProviderError::Cancelled),
        };
        drop(key);
        let rec = match &result {
            Ok(r) => {
                let (tin, tout) = (r.tokens_in, r.tokens_out);
                // Behind a gateway, the deployment that really answered decides the cost: our
                // price for it when it is in the registry (LiteLLM 1.106 prices a fallback
                // answer at the alias's price), else the gateway's own figure, else our price
                // for the model we asked.
                let cost = match (r.served_by.as_deref().and_then(|s| self.reg.get(s)), r.reported_cost) {
                    (Some(served), _) => served.cost(tin, tout),
                    (None, Some(c)) => c,
                    (None, None) => model.cost(tin, tout),
                };
                held.record(true, None, tin, tout, cost)
            }
            Err(e) => held.partial_record(e.kind()),
        };
        held.settled = true;
        let flagged =
            self.ledger.settle(reservation, now_unix(), &rec).map_err(|e| OneError::Call(CallError::Internal(e)))?;
        if flagged {
            tracing::warn!(
                "{} reported {}+{} tokens (${:.4}), more than the reserved ceiling (${reserve:.4}); the call is \
                 flagged in the ledger",
                model.id,
                rec.tokens_in,
                rec.tokens_out,
                rec.cost
            );
        }
        match result {
            Ok(r) => Ok(CallOutcome {
                model: model.id.clone(),
                text: r.text,
                tokens_in: rec.tokens_in,
                tokens_out: rec.tokens_out,
                cost: rec.cost,
                latency_ms: rec.latency_ms,
                served_by: r.served_by,
                fallbacks: vec![],
            }),
            Err(e) => {
                if let Some(sink) = on_delta
                    && partial.lock().unwrap_or_else(|p| p.into_inner()).bytes > 0
                {
                    sink(Delta::Discard { model: &model.id });
                }
                Err(OneError::Provider(e))
            }
        }
    }

    // --- threads -------------------------------------------------------------------------------

    /// The history of `continuation_id` as messages (newest turns within the token budget, in
    /// order), or a bad-input error when the id is unknown.
    pub fn history(&self, continuation_id: &str) -> anyhow::Result<Vec<Message>> {
        if !self.ledger.thread_exists(continuation_id)? {
            return Err(CliError::bad_input(format!("unknown continuation_id `{continuation_id}`"))
                .hint(format!(
                    "threads expire after {} hours without use; start a new one by leaving it out",
                    self.cfg.runtime.threads.ttl_hours
                ))
                .into());
        }
        let mut turns = self.ledger.turns(continuation_id)?;
        let mut budget = self.cfg.runtime.threads.history_tokens;
        // Turns a summary covers are sent as that summary (runtime/summary.rs).
        let summary = super::summary::get(&self.ledger, continuation_id)?;
        if let Some((upto, _)) = &summary {
            turns.drain(..(*upto).min(turns.len()));
        }
        let summary = summary
            .map(|(_, text)| Message::user(format!("[Summary of the earlier turns of this conversation]\n{text}")));
        if let Some(s) = &summary {
            budget = budget.saturating_sub(provider::estimate_tokens([s.content.as_str()]));
        }
        let mut kept = vec![];
        for t in turns.iter().rev() {
            let cost = provider::estimate_tokens([t.content.as_str()]);
            if cost > budget {
                break;
            }
            budget -= cost;
            let who = match (&t.model, &t.tool) {
                (Some(m), Some(tool)) => format!("[{m} via {tool}] "),
                (Some(m), None) => format!("[{m}] "),
                _ => String::new(),
            };
            kept.push(if t.role == "assistant" {
                Message::assistant(format!("{who}{}", t.content))
            } else {
                Message::user(t.content.clone())
            });
        }
        kept.extend(summary);
        kept.reverse();
        Ok(kept)
    }

    /// Start a thread, or check that `id` exists.
    pub fn thread(&self, id: Option<&str>, title: &str) -> anyhow::Result<String> {
        Ok(self.thread_with_history(id, title)?.0)
    }

    /// `thread`, plus the history to send (empty for a new thread).
    pub fn thread_with_history(&self, id: Option<&str>, title: &str) -> anyhow::Result<(String, Vec<Message>)> {
        match id {
            Some(id) => Ok((id.to_string(), self.history(id)?)),
            None => Ok((self.ledger.create_thread(now_unix(), &router::one_line(title, 80))?, vec![])),
        }
    }

    pub fn remember(&self, thread: &str, tool: &str, prompt: &str, model: &str, answer: &str) -> anyhow::Result<()> {
        let turns = [
            Turn { role: "user".into(), model: None, tool: Some(tool.into()), content: prompt.into() },
            Turn {
                role: "assistant".into(),
                model: Some(model.into()),
                tool: Some(tool.into()),
                content: answer.into(),
            },
        ];
        self.ledger.append_turns(now_unix(), thread, &turns)
    }

    // --- the common "ask one role" path ---------------------------------------------------------

    /// Ask one question: route (or use `model`), include the thread's history, call with
    /// fallback, and record both turns in the thread.
    pub async fn ask(&self, a: AskArgs<'_>, cancel: &Cancel) -> anyhow::Result<AskResult> {
        let (thread, mut messages) = self.thread_with_history(a.continuation_id, a.prompt)?;
        messages.push(Message::user(a.prompt));
        let tokens_in = provider::estimate_tokens(messages.iter().map(|m| m.content.as_str())) + 100;
        let new_thread = a.continuation_id.is_none();
        let out = self.ask_in(&thread, messages, tokens_in, &a, cancel).await;
        if out.is_err() && new_thread {
            // A failed first question leaves no empty thread behind.
            let _ = self.ledger.drop_empty_thread(&thread);
        }
        let (role, out) = out?;
        Ok(AskResult { continuation_id: thread, role, outcome: out })
    }

    async fn ask_in(
        &self,
        thread: &str,
        mut messages: Vec<Message>,
        tokens_in: u64,
        a: &AskArgs<'_>,
        cancel: &Cancel,
    ) -> anyhow::Result<(Role, CallOutcome)> {
        let route = self.route(a.prompt, a.role, a.local, a.model, tokens_in)?;
        if route.chosen.is_none() {
            if let Some(b) = self.budget_blocks(&route, a.prompt, a.local, a.model, tokens_in)? {
                return Err(CallError::Budget(b).into_cli());
            }
            return Err(CallError::NoModel(why_none(&route)).into_cli());
        }
        messages.insert(0, Message::system(a.system.unwrap_or(route.role.system_prompt())));
        let spec = CallSpec {
            role: route.role,
            tool: a.tool,
            chain: route.chain.clone(),
            messages,
            max_tokens: a.max_tokens.unwrap_or(self.cfg.runtime.max_tokens),
            temperature: None,
            thread_id: Some(thread.to_string()),
            on_delta: a.on_delta,
        };
        let mut spec = spec;
        spec.chain.retain(|id| !a.avoid.contains(id));
        if spec.chain.is_empty() {
            return Err(CallError::NoModel(format!(
                "every model of the chain ({}) already failed in this run",
                route.chain.join(", ")
            ))
            .into_cli());
        }
        let out = self.call(spec, cancel).await.map_err(CallError::into_cli)?;
        self.remember(thread, a.tool, a.prompt, &out.model, &out.text)?;
        // The answer stands whatever happens to the summary: a failed one is retried next turn.
        if let Err(e) = super::summary::fold(self, thread, a.local, cancel).await {
            tracing::warn!("thread {thread}: older turns not summarised: {e:#}");
        }
        Ok((route.role, out))
    }
}

/// Why a route chose nothing, with every candidate's reason inline (the CLI prints no table).
fn why_none(route: &Route) -> String {
    let reason = route.reason.trim_end_matches(" (reasons below)").trim_end_matches(" (see its line below)");
    let skipped: Vec<String> =
        route.candidates.iter().filter_map(|c| c.skipped.as_ref().map(|w| format!("{}: {w}", c.id))).collect();
    if skipped.is_empty() { reason.to_string() } else { format!("{reason} ({})", skipped.join("; ")) }
}

/// What an attempt streamed before it ended.
#[derive(Default)]
struct Partial {
    bytes: u64,
    deltas: u64,
}

impl Partial {
    fn add(&mut self, d: &str) {
        self.bytes += d.len() as u64;
        self.deltas += u64::from(!d.is_empty());
    }
}

/// An open reservation and what is needed to settle it, whichever way the attempt ends.
struct Held<'a> {
    ledger: &'a Ledger,
    id: i64,
    settled: bool,
    model: &'a Model,
    baseline: Option<&'a Model>,
    role: Role,
    tool: &'a str,
    thread: Option<&'a str>,
    /// The prompt's estimated tokens (billed once anything streamed back).
    tokens_in: u64,
    started: Instant,
    partial: &'a Mutex<Partial>,
}

impl Held<'_> {
    fn record(&self, ok: bool, error_kind: Option<&str>, tin: u64, tout: u64, cost: f64) -> CallRecord {
        CallRecord {
            model: self.model.id.clone(),
            role: self.role,
            tool: self.tool.to_string(),
            ok,
            error_kind: error_kind.map(str::to_string),
            latency_ms: self.started.elapsed().as_millis() as u64,
            tokens_in: tin,
            tokens_out: tout,
            cost,
            baseline_cost: self.baseline.map_or(cost, |b| b.cost(tin, tout)),
            thread_id: self.thread.map(str::to_string),
            over_ceiling: false,
        }
    }

    /// A failed or cancelled attempt: the tokens that streamed (and the prompt that produced
    /// them) at the model's price, nothing when nothing came back.
    fn partial_record(&self, kind: &str) -> CallRecord {
        let p = self.partial.lock().unwrap_or_else(|p| p.into_inner());
        let (tin, tout) = if p.bytes > 0 { (self.tokens_in, p.deltas.max(p.bytes.div_ceil(4))) } else { (0, 0) };
        drop(p);
        self.record(false, Some(kind), tin, tout, self.model.cost(tin, tout))
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let rec = self.partial_record("cancelled");
            if self.ledger.settle(self.id, now_unix(), &rec).is_err() {
                let _ = self.ledger.release(self.id);
            }
        }
    }
}

/// How one attempt failed: a provider error moves along the chain, the rest stop the call.
enum OneError {
    Provider(ProviderError),
    Call(CallError),
}

pub struct AskArgs<'a> {
    pub prompt: &'a str,
    pub role: Option<Role>,
    pub model: Option<&'a str>,
    pub local: bool,
    pub continuation_id: Option<&'a str>,
    pub tool: &'a str,
    pub system: Option<&'a str>,
    pub max_tokens: Option<u64>,
    pub on_delta: OnDelta<'a>,
    /// Models that already failed in this run (a pipeline's earlier stages): not tried again.
    pub avoid: &'a [String],
}

impl<'a> AskArgs<'a> {
    pub fn new(prompt: &'a str, tool: &'a str) -> AskArgs<'a> {
        AskArgs {
            prompt,
            role: None,
            model: None,
            local: false,
            continuation_id: None,
            tool,
            system: None,
            max_tokens: None,
            on_delta: None,
            avoid: &[],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AskResult {
    pub continuation_id: String,
    pub role: Role,
    #[serde(flatten)]
    pub outcome: CallOutcome,
}
