//! Fan-out and weighted consensus: ask N models in parallel (bounded, per-call timeout,
//! cancellable, progress as each one finishes), weigh each verdict by tier × role score,
//! compare the winning share with the priority's threshold, name the dissenters, recommend,
//! and let the role's best model write a synthesis.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use super::engine::{CallError, CallSpec, Cancel, Runtime};
use super::provider::{self, Message};
use super::roles::Role;
use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, schemars::JsonSchema, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn threshold(self) -> f64 {
        match self {
            Priority::Low => 0.6,
            Priority::Normal => 0.7,
            Priority::High => 0.8,
            Priority::Critical => 0.9,
        }
    }
}

impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Priority::Low),
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            "critical" => Ok(Priority::Critical),
            o => Err(format!("unknown priority `{o}`: use low, normal, high or critical")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Proceed,
    ProceedWithCaution,
    ReviewRequired,
    Conflict,
}

impl Recommendation {
    pub fn text(self) -> &'static str {
        match self {
            Recommendation::Proceed => "proceed",
            Recommendation::ProceedWithCaution => "proceed with caution",
            Recommendation::ReviewRequired => "review required",
            Recommendation::Conflict => "conflict",
        }
    }
}

/// Progress of a fan-out, reported as each model finishes.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub message: String,
}

pub type OnProgress = Arc<dyn Fn(Progress) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct Vote {
    pub model: String,
    /// Normalised verdict (`yes`, `no`, or a short option), None when none was given.
    pub verdict: Option<String>,
    pub confidence: Option<f64>,
    pub weight: f64,
    pub answer: String,
    pub latency_ms: u64,
    pub cost: f64,
    /// Set when the model (and its fallbacks) failed.
    pub error: Option<String>,
    /// The model that answered when the asked one fell back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub question: String,
    pub priority: Priority,
    pub threshold: f64,
    /// Weighted share of the winning verdict among models that gave one (0..1).
    pub agreement: f64,
    pub majority: Option<String>,
    pub recommendation: Recommendation,
    pub conflict: bool,
    pub dissenters: Vec<String>,
    pub abstained: Vec<String>,
    pub votes: Vec<Vote>,
    pub synthesis: Option<String>,
    pub synthesis_model: Option<String>,
    pub continuation_id: String,
    pub wall_ms: u64,
    pub cost: f64,
}

pub struct Args<'a> {
    pub question: &'a str,
    pub priority: Priority,
    /// Explicit models; empty: the best available for the role.
    pub models: Vec<String>,
    pub role: Role,
    pub local: bool,
    pub synthesize: bool,
    pub continuation_id: Option<&'a str>,
    pub tool: &'a str,
}

const SYSTEM: &str = "You are one of several independent experts asked the same question; your answers are compared. \
                      Start your reply with exactly two lines:\n\
                      VERDICT: <yes | no | the short name of the option you choose>\n\
                      CONFIDENCE: <a number from 0 to 1>\n\
                      Then give your reasoning in at most 8 sentences. Name concrete risks.";

/// Pick the panel: explicit ids (validated), else the top usable models by vote weight: `size` of
/// them, one more at high priority, all (up to `max_parallel`) at critical.
pub fn panel(rt: &Runtime, args: &Args) -> anyhow::Result<Vec<String>> {
    let local_only = rt.local_only(args.local);
    if !args.models.is_empty() {
        for id in &args.models {
            let m = rt.reg.require(id)?;
            if local_only && !m.local {
                return Err(CliError::bad_input(format!("model `{id}` is a cloud model and local-only mode is on"))
                    .hint("pick local models or drop --local")
                    .into());
            }
        }
        return Ok(args.models.clone());
    }
    let configured = &rt.cfg.runtime.consensus.models;
    if !configured.is_empty() {
        let usable: Vec<String> = configured
            .iter()
            .filter(|id| rt.reg.get(id).is_some_and(|m| (!local_only || m.local) && rt.available(m).is_ok()))
            .cloned()
            .collect();
        if !usable.is_empty() {
            return Ok(usable);
        }
    }
    let mut ranked: Vec<&super::registry::Model> = rt
        .reg
        .models
        .iter()
        .filter(|m| (!local_only || m.local) && m.score(args.role) > 0.0)
        .filter(|m| m.via != super::registry::Via::Gateway || rt.reg.gateway_enabled)
        .filter(|m| rt.available(m).is_ok())
        .collect();
    ranked.sort_by(|a, b| {
        b.weight(args.role)
            .total_cmp(&a.weight(args.role))
            .then(a.blended_price().total_cmp(&b.blended_price()))
            .then(a.id.cmp(&b.id))
    });
    // Prefer one model per provider family first, so the panel is diverse.
    let mut out: Vec<String> = vec![];
    let mut seen_keys = vec![];
    for m in &ranked {
        let fam = (m.base_url.clone(), m.key.clone());
        if !seen_keys.contains(&fam) {
            seen_keys.push(fam);
            out.push(m.id.clone());
        }
    }
    for m in &ranked {
        if !out.contains(&m.id) {
            out.push(m.id.clone());
        }
    }
    // The panel grows with the stakes: high asks one more model, critical every usable one
    // (up to max_parallel, the fan-out bound).
    let size = rt.cfg.runtime.consensus.size.max(1);
    out.truncate(match args.priority {
        Priority::Low | Priority::Normal => size,
        Priority::High => size + 1,
        Priority::Critical => size.max(rt.cfg.runtime.max_parallel),
    });
    if out.is_empty() {
        return Err(CliError::failed("no usable model for a consensus")
            .hint("`aiorch route --list` shows which models have keys; or pass --models")
            .into());
    }
    Ok(out)
}

pub async fn run(
    rt: &Runtime,
    args: Args<'_>,
    progress: Option<OnProgress>,
    cancel: &Cancel,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let models = panel(rt, &args)?;
    // Fail closed before anything is sent: the whole panel's worst case must fit today's budget
    // (each call still reserves its own share, which also guards against other processes).
    let worst: f64 = models
        .iter()
        .filter_map(|id| rt.reg.get(id))
        .map(|m| {
            m.cost(
                provider::ceiling_tokens(&[Message::system(SYSTEM), Message::user(args.question)]),
                rt.cfg.runtime.max_tokens.min(2048).min(m.max_output),
            )
        })
        .sum();
    let left = rt.budget_left()?;
    if worst > left + 1e-12 {
        let b = rt.budget_exceeded(worst)?;
        return Err(super::engine::budget_error(&b)
            .hint("nothing was sent; ask fewer or cheaper models (--models)")
            .into());
    }
    let (thread, history) = rt.thread_with_history(args.continuation_id, args.question)?;
    let total = models.len() + usize::from(args.synthesize);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let report = |msg: String| {
        if let Some(p) = &progress {
            let d = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            p(Progress { done: d, total, message: msg });
        }
    };
    let max_tokens = rt.cfg.runtime.max_tokens.min(2048);
    let ask = |id: String| {
        let mut messages = vec![Message::system(SYSTEM)];
        messages.extend(history.iter().cloned());
        messages.push(Message::user(args.question));
        let thread = thread.clone();
        let tool = args.tool;
        let role = args.role;
        async move {
            // Each panel member falls back only to itself: a substitute would distort the vote.
            let spec = CallSpec {
                role,
                tool,
                chain: vec![id.clone()],
                messages,
                max_tokens,
                temperature: Some(0.2),
                thread_id: Some(thread),
                on_delta: None,
            };
            let r = rt.call(spec, cancel).await;
            (id, r)
        }
    };
    let mut stream =
        futures_util::stream::iter(models.clone()).map(ask).buffer_unordered(rt.cfg.runtime.max_parallel.max(1));
    let mut votes: Vec<Vote> = vec![];
    let mut stop: Option<CliError> = None;
    while let Some((id, r)) = stream.next().await {
        let weight = rt.reg.get(&id).map_or(0.0, |m| m.weight(args.role));
        let vote = match r {
            Ok(out) => {
                let (verdict, confidence) = parse_verdict(&out.text);
                Vote {
                    model: id.clone(),
                    verdict,
                    confidence,
                    weight,
                    answer: out.text,
                    latency_ms: out.latency_ms,
                    cost: out.cost,
                    error: None,
                    answered_by: None,
                }
            }
            // Stop, but let the calls in flight finish (they settle, or see the cancel at once)
            // so every request that reached a provider is in the ledger.
            Err(CallError::Budget(b)) => {
                stop.get_or_insert(super::engine::budget_error(&b).hint("another process spent the budget meanwhile"));
                continue;
            }
            Err(CallError::Cancelled) => {
                stop.get_or_insert(CliError::failed("consensus cancelled"));
                continue;
            }
            Err(e) => Vote {
                model: id.clone(),
                verdict: None,
                confidence: None,
                weight,
                answer: String::new(),
                latency_ms: 0,
                cost: 0.0,
                error: Some(e.to_string()),
                answered_by: None,
            },
        };
        report(match (&vote.error, &vote.verdict) {
            (Some(e), _) => format!("{id} failed: {e}"),
            (None, Some(v)) => format!("{id}: {v}"),
            (None, None) => format!("{id}: no verdict"),
        });
        votes.push(vote);
    }
    drop(stream);
    if let Some(e) = stop {
        return Err(e.into());
    }
    // Keep the panel's order in the report, whatever order answers arrived in.
    votes.sort_by_key(|v| models.iter().position(|m| *m == v.model));
    let mut report_out = tally(args.question, args.priority, votes);
    report_out.continuation_id = thread.clone();
    let summary: String = report_out
        .votes
        .iter()
        .map(|v| {
            format!(
                "[{}] verdict={} weight={:.2}\n{}\n",
                v.model,
                v.verdict.as_deref().unwrap_or(if v.error.is_some() { "(failed)" } else { "(none)" }),
                v.weight,
                if v.answer.is_empty() { v.error.clone().unwrap_or_default() } else { v.answer.clone() }
            )
        })
        .collect();
    rt.remember(
        &thread,
        args.tool,
        args.question,
        "consensus",
        &format!(
            "agreement {:.2} (threshold {:.2}), recommendation: {}\n\n{summary}",
            report_out.agreement,
            report_out.threshold,
            report_out.recommendation.text()
        ),
    )?;
    if args.synthesize {
        let prompt = format!(
            "Question: {}\n\nIndependent answers (weighted agreement {:.2}, threshold {:.2}, recommendation: {}):\n\n\
             {summary}\n\
             Write a synthesis: the majority position, the strongest dissent and why it matters, and a concrete \
             recommendation. At most 12 sentences.",
            args.question,
            report_out.agreement,
            report_out.threshold,
            report_out.recommendation.text()
        );
        let tokens_in = provider::estimate_tokens([prompt.as_str()]);
        let route = rt.route(&prompt, Some(args.role), args.local, None, tokens_in)?;
        // A member that failed (or hung) moments ago is not asked to write the synthesis.
        let failed: Vec<&str> =
            report_out.votes.iter().filter(|v| v.error.is_some()).map(|v| v.model.as_str()).collect();
        let chain: Vec<String> = route.chain.iter().filter(|id| !failed.contains(&id.as_str())).cloned().collect();
        let spec = CallSpec {
            role: args.role,
            tool: args.tool,
            chain,
            messages: vec![Message::system(args.role.system_prompt()), Message::user(prompt.clone())],
            max_tokens,
            temperature: Some(0.2),
            thread_id: Some(thread.clone()),
            on_delta: None,
        };
        match rt.call(spec, cancel).await {
            Ok(out) => {
                report(format!("synthesis by {}", out.model));
                report_out.cost += out.cost;
                rt.remember(&thread, args.tool, "synthesise the consensus", &out.model, &out.text)?;
                report_out.synthesis = Some(out.text);
                report_out.synthesis_model = Some(out.model);
            }
            Err(CallError::NoModel(_)) => {
                let why = "every model that could write it failed in this run";
                report(format!("synthesis skipped: {why}"));
                report_out.synthesis = Some(format!("(synthesis skipped: {why})"));
            }
            Err(e) => {
                report(format!("synthesis failed: {e}"));
                report_out.synthesis = Some(format!("(synthesis failed: {e})"));
            }
        }
    }
    report_out.wall_ms = started.elapsed().as_millis() as u64;
    Ok(report_out)
}

/// The human report `aiorch consensus` prints (and the MCP tool returns).
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "question:       {}", super::router::one_line(&r.question, 100));
    let _ = writeln!(
        s,
        "agreement:      {:.2} (threshold {:.2}, priority {:?}){}",
        r.agreement,
        r.threshold,
        r.priority,
        if r.agreement + 1e-9 >= r.threshold { " — met" } else { " — not met" }
    );
    let _ = writeln!(s, "majority:       {}", r.majority.as_deref().unwrap_or("none"));
    let _ = writeln!(
        s,
        "recommendation: {}{}",
        r.recommendation.text(),
        if r.conflict { " (conflicting positions)" } else { "" }
    );
    if !r.dissenters.is_empty() {
        let _ = writeln!(s, "dissenters:     {}", r.dissenters.join(", "));
    }
    if !r.abstained.is_empty() {
        let _ = writeln!(s, "no verdict:     {}", r.abstained.join(", "));
    }
    let _ = writeln!(s, "votes:");
    for v in &r.votes {
        let verdict = v.verdict.as_deref().unwrap_or("-");
        let detail = match &v.error {
            Some(e) => format!("failed: {e}"),
            None => format!(
                "{} ms, ${:.4}{}",
                v.latency_ms,
                v.cost,
                v.confidence.map(|c| format!(", confidence {c:.2}")).unwrap_or_default()
            ),
        };
        let _ = writeln!(s, "  {:<18} {:<14} weight {:.2}  {detail}", v.model, verdict, v.weight);
    }
    for v in r.votes.iter().filter(|v| v.error.is_none()) {
        let _ = writeln!(s, "\n[{}]\n{}", v.model, v.answer.trim());
    }
    if let Some(syn) = &r.synthesis {
        let _ = writeln!(s, "\nsynthesis ({}):\n{}", r.synthesis_model.as_deref().unwrap_or("-"), syn.trim());
    }
    let _ = writeln!(s, "\n{} ms wall · ${:.4} · continuation_id {}", r.wall_ms, r.cost, r.continuation_id);
    s
}

/// Weigh the votes and decide. Pure, so the decision table is unit-tested.
pub fn tally(question: &str, priority: Priority, votes: Vec<Vote>) -> Report {
    let threshold = priority.threshold();
    let mut groups: BTreeMap<String, f64> = BTreeMap::new();
    for v in &votes {
        if let Some(verdict) = &v.verdict {
            *groups.entry(verdict.clone()).or_default() += v.weight;
        }
    }
    let total: f64 = groups.values().sum();
    let mut ranked: Vec<(String, f64)> = groups.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let voters = votes.iter().filter(|v| v.verdict.is_some()).count();
    let (majority, agreement, runner_up) = match ranked.as_slice() {
        [] => (None, 0.0, 0.0),
        [(v, w)] => (Some(v.clone()), if total > 0.0 { w / total } else { 0.0 }, 0.0),
        [(v, w), (_, w2), ..] => (Some(v.clone()), w / total, w2 / total),
    };
    let dissenters: Vec<String> =
        votes.iter().filter(|v| v.verdict.is_some() && v.verdict != majority).map(|v| v.model.clone()).collect();
    let abstained: Vec<String> = votes.iter().filter(|v| v.verdict.is_none()).map(|v| v.model.clone()).collect();
    // A near tie between the top two positions is a conflict, not just weak agreement.
    let conflict = ranked.len() >= 2 && agreement - runner_up < 0.2;
    let recommendation = if voters < 2 {
        Recommendation::ReviewRequired
    } else if agreement + 1e-9 >= threshold {
        if dissenters.is_empty() && abstained.is_empty() {
            Recommendation::Proceed
        } else {
            Recommendation::ProceedWithCaution
        }
    } else if conflict {
        Recommendation::Conflict
    } else {
        Recommendation::ReviewRequired
    };
    let cost = votes.iter().map(|v| v.cost).sum();
    Report {
        question: question.to_string(),
        priority,
        threshold,
        agreement: (agreement * 1000.0).round() / 1000.0,
        majority,
        recommendation,
        conflict: conflict && agreement + 1e-9 < threshold,
        dissenters,
        abstained,
        votes,
        synthesis: None,
        synthesis_model: None,
        continuation_id: String::new(),
        wall_ms: 0,
        cost,
    }
}

/// `VERDICT: …` and `CONFIDENCE: …` from an answer (markdown decoration tolerated).
pub fn parse_verdict(text: &str) -> (Option<String>, Option<f64>) {
    let mut verdict = None;
    let mut confidence = None;
    for line in text.lines().take(40) {
        let l = line.trim().trim_start_matches(['*', '#', '-', '>', ' ', '_']).replace("**", "");
        let lower = l.to_ascii_lowercase();
        if verdict.is_none()
            && let Some(rest) = lower.strip_prefix("verdict").map(|r| r.trim_start_matches([':', ' ', '-']))
        {
            verdict = normalise_verdict(rest);
        } else if confidence.is_none()
            && let Some(rest) = lower.strip_prefix("confidence").map(|r| r.trim_start_matches([':', ' ', '-']))
        {
            let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '%').collect();
            confidence = num
                .trim_end_matches('%')
                .parse::<f64>()
                .ok()
                .map(|v| if num.ends_with('%') || v > 1.0 { v / 100.0 } else { v })
                .filter(|v| (0.0..=1.0).contains(v));
        }
    }
    (verdict, confidence)
}

fn normalise_verdict(raw: &str) -> Option<String> {
    let cleaned: String =
        raw.chars().map(|c| if c.is_alphanumeric() || c == ' ' || c == '-' || c == '.' { c } else { ' ' }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let first = words.first()?.trim_end_matches(['.', '-']);
    const YES: &[&str] =
        &["yes", "y", "approve", "approved", "agree", "proceed", "support", "accept", "ok", "go", "true", "lgtm"];
    const NO: &[&str] =
        &["no", "n", "reject", "rejected", "disagree", "oppose", "block", "decline", "false", "don't", "dont", "stop"];
    if YES.contains(&first) {
        return Some("yes".into());
    }
    if NO.contains(&first) {
        return Some("no".into());
    }
    Some(words.iter().take(4).copied().collect::<Vec<_>>().join(" ").trim_end_matches('.').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(model: &str, verdict: Option<&str>, weight: f64) -> Vote {
        Vote {
            model: model.into(),
            verdict: verdict.map(str::to_string),
            confidence: None,
            weight,
            answer: String::new(),
            latency_ms: 0,
            cost: 0.0,
            error: None,
            answered_by: None,
        }
    }

    #[test]
    fn verdicts_parse_and_normalise() {
        assert_eq!(parse_verdict("VERDICT: Yes\nCONFIDENCE: 0.8\nbecause"), (Some("yes".into()), Some(0.8)));
        assert_eq!(parse_verdict("**Verdict:** reject.\n**Confidence**: 70%"), (Some("no".into()), Some(0.7)));
        assert_eq!(parse_verdict("VERDICT: SQLite with WAL\n"), (Some("sqlite with wal".into()), None));
        assert_eq!(parse_verdict("I think so"), (None, None));
    }

    #[test]
    fn thresholds_rise_with_priority() {
        let votes = || vec![v("a", Some("yes"), 3.0), v("b", Some("yes"), 3.0), v("c", Some("no"), 1.5)];
        // 6 / 7.5 = 0.8
        let r = tally("q", Priority::High, votes());
        assert_eq!((r.agreement, r.recommendation), (0.8, Recommendation::ProceedWithCaution));
        assert_eq!(r.dissenters, ["c"]);
        let r = tally("q", Priority::Critical, votes());
        assert_eq!(r.recommendation, Recommendation::ReviewRequired);
        assert!(!r.conflict);
    }

    #[test]
    fn unanimity_near_ties_and_too_few_votes() {
        let r = tally("q", Priority::Normal, vec![v("a", Some("yes"), 2.0), v("b", Some("yes"), 1.0)]);
        assert_eq!(r.recommendation, Recommendation::Proceed);
        let r = tally("q", Priority::Low, vec![v("a", Some("yes"), 2.0), v("b", Some("no"), 2.0), v("c", None, 1.0)]);
        assert_eq!(r.recommendation, Recommendation::Conflict);
        assert!(r.conflict);
        assert_eq!(r.abstained, ["c"]);
        let r = tally("q", Priority::Low, vec![v("a", Some("yes"), 2.0), v("b", None, 2.0)]);
        assert_eq!(r.recommendation, Recommendation::ReviewRequired);
    }
}
