//! `aiorch stats`: per model and per role — calls, success rate, latency percentiles, tokens,
//! cost, and what routing saved against sending everything to the strongest model.

use std::collections::BTreeMap;

use serde::Serialize;

use super::engine::Runtime;
use super::ledger::{CallRecord, day};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub calls: u64,
    pub ok: u64,
    pub success_rate: f64,
    pub p50_ms: u64,
    pub p95_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: f64,
    /// The same tokens on the baseline model.
    pub baseline_cost: f64,
    pub saved: f64,
    /// Failures by kind (rate_limit, timeout, …).
    pub errors: BTreeMap<String, u64>,
    /// Calls whose provider reported more tokens than the reservation's ceiling allows.
    pub over_ceiling: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub since: i64,
    pub baseline: Option<String>,
    pub today: String,
    pub budget_usd: f64,
    pub spent_today: f64,
    pub reserved_today: f64,
    pub left_today: f64,
    pub total: Row,
    pub by_model: BTreeMap<String, Row>,
    pub by_role: BTreeMap<String, Row>,
}

pub fn compute(rt: &Runtime, since: i64, now: i64) -> anyhow::Result<Stats> {
    let calls = rt.ledger.calls_since(since)?;
    let mut by_model: BTreeMap<String, Vec<&CallRecord>> = BTreeMap::new();
    let mut by_role: BTreeMap<String, Vec<&CallRecord>> = BTreeMap::new();
    for (_, c) in &calls {
        by_model.entry(c.model.clone()).or_default().push(c);
        by_role.entry(c.role.name().to_string()).or_default().push(c);
    }
    let all: Vec<&CallRecord> = calls.iter().map(|(_, c)| c).collect();
    let (spent, held) = rt.ledger.spent_today(now)?;
    let budget = rt.cfg.runtime.budget.daily_usd;
    Ok(Stats {
        since,
        baseline: rt.reg.baseline(&rt.cfg).map(|m| m.id.clone()),
        today: day(now),
        budget_usd: budget,
        spent_today: round(spent),
        reserved_today: round(held),
        left_today: round((budget - spent - held).max(0.0)),
        total: row(&all),
        by_model: by_model.into_iter().map(|(k, v)| (k, row(&v))).collect(),
        by_role: by_role.into_iter().map(|(k, v)| (k, row(&v))).collect(),
    })
}

fn row(calls: &[&CallRecord]) -> Row {
    let mut lat: Vec<u64> = calls.iter().filter(|c| c.ok).map(|c| c.latency_ms).collect();
    lat.sort_unstable();
    let ok = calls.iter().filter(|c| c.ok).count() as u64;
    let cost: f64 = calls.iter().map(|c| c.cost).sum();
    let baseline: f64 = calls.iter().map(|c| c.baseline_cost).sum();
    let mut errors = BTreeMap::new();
    for c in calls.iter().filter(|c| !c.ok) {
        *errors.entry(c.error_kind.clone().unwrap_or_else(|| "unknown".into())).or_insert(0) += 1;
    }
    Row {
        calls: calls.len() as u64,
        ok,
        success_rate: if calls.is_empty() { 0.0 } else { round3(ok as f64 / calls.len() as f64) },
        p50_ms: percentile(&lat, 0.50),
        p95_ms: percentile(&lat, 0.95),
        tokens_in: calls.iter().map(|c| c.tokens_in).sum(),
        tokens_out: calls.iter().map(|c| c.tokens_out).sum(),
        cost: round(cost),
        baseline_cost: round(baseline),
        saved: round(baseline - cost),
        errors,
        over_ceiling: calls.iter().filter(|c| c.over_ceiling).count() as u64,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

pub fn render(s: &Stats) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "budget {}: ${:.4} spent, ${:.4} reserved, ${:.4} left of ${:.2}",
        s.today, s.spent_today, s.reserved_today, s.left_today, s.budget_usd
    );
    let table = |o: &mut String, title: &str, rows: &BTreeMap<String, Row>| {
        let _ = writeln!(
            o,
            "\n{:<20} {:>6} {:>6} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10}",
            title, "calls", "ok%", "p50 ms", "p95 ms", "tok in", "tok out", "cost $", "saved $"
        );
        for (k, r) in rows {
            line(o, k, r);
        }
    };
    table(&mut o, "model", &s.by_model);
    table(&mut o, "role", &s.by_role);
    let _ = writeln!(o);
    line(&mut o, "total", &s.total);
    if s.total.over_ceiling > 0 {
        let n = s.total.over_ceiling;
        let _ = writeln!(
            o,
            "\n{n} call{} reported more than its reservation could cover (flagged; see the provider's usage)",
            if n == 1 { "" } else { "s" }
        );
    }
    let base = s.baseline.as_deref().unwrap_or("the strongest model (none configured: runtime.routing.baseline)");
    let pct = if s.total.baseline_cost > 0.0 { 100.0 * s.total.saved / s.total.baseline_cost } else { 0.0 };
    let _ = writeln!(
        o,
        "\nrouting saved ${:.4} ({pct:.0}%) against sending every call to {base} (${:.4})",
        s.total.saved, s.total.baseline_cost
    );
    o
}

fn line(o: &mut String, name: &str, r: &Row) {
    use std::fmt::Write;
    let errs = if r.errors.is_empty() {
        String::new()
    } else {
        format!("  errors: {}", r.errors.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(", "))
    };
    let _ = writeln!(
        o,
        "{:<20} {:>6} {:>6.1} {:>8} {:>8} {:>9} {:>9} {:>10.4} {:>10.4}{errs}",
        name,
        r.calls,
        r.success_rate * 100.0,
        r.p50_ms,
        r.p95_ms,
        r.tokens_in,
        r.tokens_out,
        r.cost,
        r.saved
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(super::percentile(&v, 0.5), 50);
        assert_eq!(super::percentile(&v, 0.95), 95);
        assert_eq!(super::percentile(&[7], 0.95), 7);
        assert_eq!(super::percentile(&[], 0.5), 0);
    }
}
