//! Long threads are summarised, not just cut: once a thread's turns no longer fit
//! `runtime.threads.history_tokens`, the oldest turns (down to half the window, so this happens
//! once per half window of new turns, not on every turn) are summarised by the cheapest usable
//! model of the search role (a local one in local mode) into a rolling summary of the thread,
//! which the history then sends before the turns that still fit; each summary is also stored
//! as a memory of the project (`aiorch memory search` finds it after the thread expired).

use rusqlite::{OptionalExtension, params};

use super::engine::{CallSpec, Cancel, Runtime};
use super::ledger::{Ledger, Turn};
use super::provider::{self, Message};
use super::roles::Role;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS thread_summaries (
  thread_id TEXT PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
  upto INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  text TEXT NOT NULL
);
";

/// The thread's summary: how many of its first turns it covers, and its text.
pub fn get(l: &Ledger, thread: &str) -> anyhow::Result<Option<(usize, String)>> {
    Ok(l.lock()
        .query_row("SELECT upto, text FROM thread_summaries WHERE thread_id = ?1", params![thread], |r| {
            Ok((r.get::<_, i64>(0)? as usize, r.get(1)?))
        })
        .optional()?)
}

fn put(l: &Ledger, now: i64, thread: &str, upto: usize, text: &str) -> anyhow::Result<()> {
    l.lock().execute(
        "INSERT INTO thread_summaries (thread_id, upto, ts, text) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(thread_id) DO UPDATE SET upto = excluded.upto, ts = excluded.ts, text = excluded.text",
        params![thread, upto as i64, now, text],
    )?;
    Ok(())
}

/// The index of the first of the newest turns that fit in `budget` tokens.
pub fn window_start(turns: &[Turn], budget: u64) -> usize {
    let mut left = budget;
    let mut start = turns.len();
    for (i, t) in turns.iter().enumerate().rev() {
        let cost = provider::estimate_tokens([t.content.as_str()]);
        if cost > left {
            break;
        }
        left -= cost;
        start = i;
    }
    start
}

/// The project a thread's memory belongs to: its task's, else the working directory's.
fn project_of_thread(l: &Ledger, thread: &str) -> anyhow::Result<String> {
    let task: Option<String> = l
        .lock()
        .query_row("SELECT project FROM tasks WHERE thread_id = ?1", params![thread], |r| r.get(0))
        .optional()?;
    match task {
        Some(p) => Ok(p),
        None => super::tasks::project_of(None),
    }
}

const PROMPT: &str = "Summarise the conversation below for whoever continues it: the task, facts \
                      established, decisions and why, files and commands involved, open questions. \
                      Keep every name, number and path exact. At most 200 words, no preamble.";

/// Summarise what fell out of the thread's window, if enough did. Returns whether it did.
pub async fn fold(rt: &Runtime, thread: &str, local: bool, cancel: &Cancel) -> anyhow::Result<bool> {
    let budget = rt.cfg.runtime.threads.history_tokens;
    let turns = rt.ledger.turns(thread)?;
    let (done, previous) = get(&rt.ledger, thread)?.unwrap_or_default();
    if window_start(&turns, budget) <= done {
        return Ok(false);
    }
    let upto = window_start(&turns, budget / 2).max(done + 1).min(turns.len());
    let mut text = String::new();
    if !previous.is_empty() {
        text.push_str(&format!("Summary so far:\n{previous}\n\n"));
    }
    for t in &turns[done..upto] {
        let who = t.model.as_deref().map_or_else(|| t.role.clone(), |m| format!("{} ({m})", t.role));
        text.push_str(&format!("{who}:\n{}\n\n", t.content));
    }
    let tokens = provider::estimate_tokens([text.as_str(), PROMPT]) + 100;
    let route = rt.route("summarise the conversation", Some(Role::Search), local, None, tokens)?;
    if route.chosen.is_none() {
        anyhow::bail!("no model can summarise the thread: {}", route.reason);
    }
    let spec = CallSpec {
        role: Role::Search,
        tool: "summary",
        chain: route.chain.clone(),
        messages: vec![Message::system(PROMPT), Message::user(text)],
        max_tokens: 600.min(rt.cfg.runtime.max_tokens),
        temperature: None,
        thread_id: Some(thread.to_string()),
        on_delta: None,
    };
    let out = rt.call(spec, cancel).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = out.text.trim();
    let now = crate::ui::now_unix();
    put(&rt.ledger, now, thread, upto, summary)?;
    let project = project_of_thread(&rt.ledger, thread)?;
    super::memory::add(&rt.ledger, now, &project, &format!("summary:{thread}"), summary)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(n: usize) -> Turn {
        Turn { role: "user".into(), model: None, tool: None, content: "x".repeat(n) }
    }

    #[test]
    fn the_window_keeps_the_newest_turns_that_fit() {
        // estimate: len/4 + 4 → 40 bytes = 14 tokens.
        let turns = vec![turn(40), turn(40), turn(40)];
        assert_eq!(window_start(&turns, 100), 0);
        assert_eq!(window_start(&turns, 28), 1);
        assert_eq!(window_start(&turns, 27), 2);
        assert_eq!(window_start(&turns, 5), 3);
    }
}
