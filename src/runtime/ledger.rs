//! The SQLite ledger in the state dir: every call's tokens, cost and latency; budget
//! reservations; conversation threads.
//!
//! The budget fails closed even under concurrent fan-out and several processes: before a call
//! its worst-case cost is *reserved* inside an IMMEDIATE transaction (which takes SQLite's write
//! lock), checked against today's settled spend plus every open reservation, and settled to the
//! real cost afterwards. The reservation is a ceiling, not an estimate: every byte of the prompt
//! counts as a token (a byte-level BPE token is at least one byte) and the output as the full
//! `max_tokens`, so a settled cost above it means the provider reported more than it can have
//! used; such a call is flagged (`over_ceiling`) and, when it pushed the day over the limit, no
//! further paid call starts until the next UTC day. A call is booked on the day it was reserved
//! on (a call crossing 00:00 UTC counts against the budget that let it start). Reservations of a
//! crashed process expire after an hour and are deleted by the next reservation.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::roles::Role;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  day TEXT NOT NULL,
  model TEXT NOT NULL,
  role TEXT NOT NULL,
  tool TEXT NOT NULL,
  ok INTEGER NOT NULL,
  error_kind TEXT,
  latency_ms INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  cost REAL NOT NULL,
  baseline_cost REAL NOT NULL,
  thread_id TEXT,
  over_ceiling INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_day ON calls(day);
CREATE TABLE IF NOT EXISTS reservations (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  day TEXT NOT NULL,
  amount REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS threads (
  id TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
  thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  role TEXT NOT NULL,
  model TEXT,
  tool TEXT,
  content TEXT NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
";

/// Reservations older than this belong to a process that died mid-call.
const RESERVATION_TTL: i64 = 3600;

/// Today's budget cannot cover the call: its own error (never "no usable model"), saying what
/// was spent of what, when the budget resets and which setting raises it.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "daily budget exhausted: ${spent:.4} spent and ${held:.4} reserved of ${limit:.4} on {day} (UTC); the next call \
     may cost up to ${need:.4}; the budget resets at 00:00 UTC ({})",
    until_reset(*.now)
)]
pub struct BudgetExceeded {
    pub limit: f64,
    pub spent: f64,
    pub held: f64,
    pub need: f64,
    pub day: String,
    pub now: i64,
}

/// The config key that raises the daily budget (named in every budget error).
pub const BUDGET_KEY: &str = "runtime.budget.daily_usd";

/// `in 3 h 05 min` until the next 00:00 UTC.
pub fn until_reset(now: i64) -> String {
    let left = 86_400 - now.rem_euclid(86_400);
    format!("in {} h {:02} min", left / 3600, ((left % 3600 + 59) / 60).min(59))
}

/// One finished (or failed) provider call.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub model: String,
    pub role: Role,
    pub tool: String,
    pub ok: bool,
    pub error_kind: Option<String>,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: f64,
    /// What the same tokens would have cost on the baseline (strongest) model.
    pub baseline_cost: f64,
    pub thread_id: Option<String>,
    /// The provider reported more than the reservation's ceiling allowed (set by `settle`).
    #[serde(default)]
    pub over_ceiling: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Turn {
    pub role: String,
    pub model: Option<String>,
    pub tool: Option<String>,
    pub content: String,
}

pub struct Ledger {
    conn: Mutex<Connection>,
}

impl Ledger {
    pub fn open(path: &Path) -> anyhow::Result<Ledger> {
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open the runtime ledger {}: {e}", path.display()))?;
        Ledger::init(conn)
    }

    /// An empty ledger that lives in memory: for read-only callers (doctor) before the first
    /// call ever created the file, so that looking creates nothing.
    pub fn in_memory() -> anyhow::Result<Ledger> {
        Ledger::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> anyhow::Result<Ledger> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Switching a new database to WAL takes an exclusive lock that SQLite's busy handler
        // does not wait for: processes opening the ledger for the first time at the same moment
        // (a fan-out, two `aiorch ask`s) see "database is locked". Setting up again is harmless.
        let setup = |c: &Connection| -> rusqlite::Result<()> {
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.execute_batch(SCHEMA)?;
            c.execute_batch(super::tasks::SCHEMA)?;
            c.execute_batch(super::handoff::SCHEMA)?;
            c.execute_batch(super::memory::SCHEMA)?;
            c.execute_batch(super::summary::SCHEMA)?;
            // Ledgers written before calls carried the ceiling flag.
            let has_flag: bool =
                c.prepare("SELECT 1 FROM pragma_table_info('calls') WHERE name = 'over_ceiling'")?.exists([])?;
            if !has_flag {
                c.execute_batch("ALTER TABLE calls ADD COLUMN over_ceiling INTEGER NOT NULL DEFAULT 0")?;
            }
            Ok(())
        };
        let mut tries = 0;
        loop {
            match setup(&conn) {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                        && tries < 200 =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10 + tries % 7));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ledger { conn: Mutex::new(conn) })
    }

    /// The connection, for the stores that share this database (tasks, handoffs, memory).
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Today's settled spend and open reservations.
    pub fn spent_today(&self, now: i64) -> anyhow::Result<(f64, f64)> {
        let conn = self.lock();
        Ok(totals(&conn, &day(now), now)?)
    }

    /// Reserve `amount` USD of today's budget, or refuse. Zero-cost calls always pass. Expired
    /// reservations (a process that died mid-call) are deleted on the way.
    pub fn reserve(&self, now: i64, amount: f64, limit: f64) -> anyhow::Result<i64> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM reservations WHERE ts <= ?1", params![now - RESERVATION_TTL])?;
        let d = day(now);
        if amount > 0.0 {
            let (spent, held) = totals(&tx, &d, now)?;
            if spent + held + amount > limit + 1e-12 {
                return Err(BudgetExceeded { limit, spent, held, need: amount, day: d, now }.into());
            }
        }
        tx.execute("INSERT INTO reservations (ts, day, amount) VALUES (?1, ?2, ?3)", params![now, d, amount])?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Replace a reservation by the call's real record (also for failed and cancelled calls,
    /// at the price of what streamed), booked on the reservation's day. Returns whether the
    /// real cost broke the reservation's ceiling (the call is then flagged in the ledger).
    pub fn settle(&self, reservation: i64, now: i64, rec: &CallRecord) -> anyhow::Result<bool> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let held: Option<(String, f64)> = tx
            .query_row("SELECT day, amount FROM reservations WHERE id = ?1", params![reservation], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        tx.execute("DELETE FROM reservations WHERE id = ?1", params![reservation])?;
        // A reservation that expired meanwhile (a call longer than the TTL) leaves no ceiling to
        // compare with: the call is booked on the day it ends, unflagged.
        let (d, over) = match held {
            Some((d, amount)) => (d, rec.cost > amount * (1.0 + 1e-9) + 1e-12),
            None => (day(now), false),
        };
        let rec = CallRecord { over_ceiling: over, ..rec.clone() };
        insert_call(&tx, now, &d, &rec)?;
        tx.commit()?;
        Ok(over)
    }

    /// Drop a reservation without a call record (the call was abandoned before it finished).
    pub fn release(&self, reservation: i64) -> anyhow::Result<()> {
        self.lock().execute("DELETE FROM reservations WHERE id = ?1", params![reservation])?;
        Ok(())
    }

    /// A call that needed no reservation (a clink sub-agent bills its own account).
    pub fn record(&self, now: i64, rec: &CallRecord) -> anyhow::Result<()> {
        insert_call(&self.lock(), now, &day(now), rec)
    }

    /// Reservations still in the table (open or expired but not yet cleaned up).
    #[cfg(test)]
    pub fn reservation_rows(&self) -> anyhow::Result<u64> {
        Ok(self.lock().query_row("SELECT COUNT(*) FROM reservations", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Every call since `since` (unix seconds), oldest first.
    pub fn calls_since(&self, since: i64) -> anyhow::Result<Vec<(i64, CallRecord)>> {
        let conn = self.lock();
        let mut st = conn.prepare(
            "SELECT ts, model, role, tool, ok, error_kind, latency_ms, tokens_in, tokens_out, cost, baseline_cost, \
             thread_id, over_ceiling FROM calls WHERE ts >= ?1 ORDER BY id",
        )?;
        let rows = st.query_map(params![since], |r| {
            let role: String = r.get(2)?;
            Ok((
                r.get::<_, i64>(0)?,
                CallRecord {
                    model: r.get(1)?,
                    role: role.parse().unwrap_or(Role::Coding),
                    tool: r.get(3)?,
                    ok: r.get::<_, i64>(4)? != 0,
                    error_kind: r.get(5)?,
                    latency_ms: r.get::<_, i64>(6)? as u64,
                    tokens_in: r.get::<_, i64>(7)? as u64,
                    tokens_out: r.get::<_, i64>(8)? as u64,
                    cost: r.get(9)?,
                    baseline_cost: r.get(10)?,
                    thread_id: r.get(11)?,
                    over_ceiling: r.get::<_, i64>(12)? != 0,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // --- threads -------------------------------------------------------------------------------

    pub fn create_thread(&self, now: i64, title: &str) -> anyhow::Result<String> {
        let id = new_id();
        self.lock().execute(
            "INSERT INTO threads (id, created, updated, title) VALUES (?1, ?2, ?2, ?3)",
            params![id, now, title],
        )?;
        Ok(id)
    }

    pub fn thread_exists(&self, id: &str) -> anyhow::Result<bool> {
        Ok(self.lock().query_row("SELECT 1 FROM threads WHERE id = ?1", params![id], |_| Ok(())).optional()?.is_some())
    }

    #[cfg(test)]
    pub fn append_turn(&self, now: i64, thread: &str, turn: &Turn) -> anyhow::Result<()> {
        self.append_turns(now, thread, std::slice::from_ref(turn))
    }

    /// Append turns in one transaction (a question and its answer land together).
    pub fn append_turns(&self, now: i64, thread: &str, turns: &[Turn]) -> anyhow::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seq: i64 =
            tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM turns WHERE thread_id = ?1", params![thread], |r| {
                r.get(0)
            })?;
        for turn in turns {
            seq += 1;
            tx.execute(
                "INSERT INTO turns (thread_id, seq, ts, role, model, tool, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, \
                 ?7)",
                params![thread, seq, now, turn.role, turn.model, turn.tool, turn.content],
            )?;
        }
        tx.execute("UPDATE threads SET updated = ?2 WHERE id = ?1", params![thread, now])?;
        tx.commit()?;
        Ok(())
    }

    pub fn turns(&self, thread: &str) -> anyhow::Result<Vec<Turn>> {
        let conn = self.lock();
        let mut st = conn.prepare("SELECT role, model, tool, content FROM turns WHERE thread_id = ?1 ORDER BY seq")?;
        let rows = st.query_map(params![thread], |r| {
            Ok(Turn { role: r.get(0)?, model: r.get(1)?, tool: r.get(2)?, content: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Delete a thread that never got a turn (its first call failed): a failed `ask` leaves
    /// nothing behind. A thread with turns is kept.
    pub fn drop_empty_thread(&self, id: &str) -> anyhow::Result<()> {
        self.lock().execute(
            "DELETE FROM threads WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM turns WHERE thread_id = ?1)",
            params![id],
        )?;
        Ok(())
    }

    /// Delete threads idle for longer than `ttl` seconds. A task's thread lives as long as its
    /// task: a queue left for a week still has its history.
    pub fn expire_threads(&self, now: i64, ttl: i64) -> anyhow::Result<usize> {
        Ok(self.lock().execute(
            "DELETE FROM threads WHERE updated < ?1 AND id NOT IN (SELECT thread_id FROM tasks)",
            params![now - ttl],
        )?)
    }
}

fn totals(conn: &Connection, d: &str, now: i64) -> rusqlite::Result<(f64, f64)> {
    let spent: f64 =
        conn.query_row("SELECT COALESCE(SUM(cost), 0) FROM calls WHERE day = ?1", params![d], |r| r.get(0))?;
    let held: f64 = conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE day = ?1 AND ts > ?2",
        params![d, now - RESERVATION_TTL],
        |r| r.get(0),
    )?;
    Ok((spent, held))
}

fn insert_call(conn: &Connection, now: i64, d: &str, rec: &CallRecord) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO calls (ts, day, model, role, tool, ok, error_kind, latency_ms, tokens_in, tokens_out, cost, \
         baseline_cost, thread_id, over_ceiling)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            now,
            d,
            rec.model,
            rec.role.name(),
            rec.tool,
            rec.ok as i64,
            rec.error_kind,
            rec.latency_ms as i64,
            rec.tokens_in as i64,
            rec.tokens_out as i64,
            rec.cost,
            rec.baseline_cost,
            rec.thread_id,
            rec.over_ceiling as i64
        ],
    )?;
    Ok(())
}

/// The UTC day of `t` as `YYYY-MM-DD`: budgets reset at 00:00 UTC.
pub fn day(t: i64) -> String {
    let s = crate::ui::utc_stamp(t);
    format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
}

/// A random 128-bit id in UUID text form (std's per-instance random hasher keys; no crate).
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let word = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.finish()
    };
    let (a, b) = (word(), word());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(cost: f64) -> CallRecord {
        CallRecord {
            model: "m".into(),
            role: Role::Coding,
            tool: "ask".into(),
            ok: true,
            error_kind: None,
            latency_ms: 5,
            tokens_in: 10,
            tokens_out: 20,
            cost,
            baseline_cost: cost * 2.0,
            thread_id: None,
            over_ceiling: false,
        }
    }

    #[test]
    fn settles_on_the_reservations_day_flags_overspend_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("rt.db")).unwrap();
        let midnight = 1_795_305_600; // 2026-11-22 00:00 UTC
        // Reserved at 23:59:58, answered at 00:00:03: booked on the 21st, the day that allowed it.
        let r = l.reserve(midnight - 2, 0.5, 1.0).unwrap();
        assert!(!l.settle(r, midnight + 3, &rec(0.4)).unwrap());
        assert_eq!(l.spent_today(midnight - 2).unwrap(), (0.4, 0.0));
        assert_eq!(l.spent_today(midnight + 3).unwrap(), (0.0, 0.0));
        // A provider reporting more than the ceiling is flagged, and the day over its limit
        // refuses every paid call until it resets.
        let r = l.reserve(midnight + 10, 0.5, 1.0).unwrap();
        assert!(l.settle(r, midnight + 11, &rec(1.2)).unwrap());
        let flagged = l.calls_since(0).unwrap();
        assert_eq!(flagged.iter().map(|(_, c)| c.over_ceiling).collect::<Vec<_>>(), [false, true]);
        let e = l.reserve(midnight + 12, 0.0001, 1.0).unwrap_err();
        let b = e.downcast_ref::<BudgetExceeded>().unwrap();
        assert_eq!((b.spent, b.day.as_str()), (1.2, "2026-11-22"));
        assert!(b.to_string().contains("resets at 00:00 UTC (in 23 h 59 min)"), "{b}");
        // A reservation of a process that died is deleted by the next reservation after its TTL.
        l.reserve(midnight + 100, 0.0, 1.0).unwrap();
        assert_eq!(l.reservation_rows().unwrap(), 1);
        l.reserve(midnight + 100 + RESERVATION_TTL + 1, 0.0, 1.0).unwrap();
        assert_eq!(l.reservation_rows().unwrap(), 1, "only the new one is left");
    }

    #[test]
    fn budget_fails_closed_with_reservations() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("rt.db")).unwrap();
        let now = 1_795_256_700;
        let a = l.reserve(now, 0.6, 1.0).unwrap();
        // A second reservation that would overspend is refused while the first is open.
        let err = l.reserve(now, 0.5, 1.0).unwrap_err();
        assert!(err.downcast_ref::<BudgetExceeded>().is_some());
        l.settle(a, now, &rec(0.1)).unwrap();
        assert_eq!(l.spent_today(now).unwrap(), (0.1, 0.0));
        l.reserve(now, 0.5, 1.0).unwrap();
        // Free calls pass even with nothing left.
        l.reserve(now, 0.0, 0.0).unwrap();
        // A new UTC day starts from zero.
        assert_eq!(l.spent_today(now + 86_400).unwrap(), (0.0, 0.0));
    }

    #[test]
    fn concurrent_reservations_never_overspend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rt.db");
        let now = 1_795_256_700;
        // Separate connections, as separate processes would have.
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Ledger::open(&p).unwrap().reserve(now, 0.3, 1.0).is_ok())
            })
            .collect();
        let granted = handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
        assert_eq!(granted, 3);
    }

    #[test]
    fn threads_persist_turns_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rt.db");
        let id = {
            let l = Ledger::open(&path).unwrap();
            let id = l.create_thread(1, "t").unwrap();
            l.append_turn(
                2,
                &id,
                &Turn { role: "user".into(), model: None, tool: Some("chat".into()), content: "hi".into() },
            )
            .unwrap();
            l.append_turn(
                3,
                &id,
                &Turn {
                    role: "assistant".into(),
                    model: Some("a".into()),
                    tool: Some("chat".into()),
                    content: "hello".into(),
                },
            )
            .unwrap();
            id
        };
        let l = Ledger::open(&path).unwrap();
        let turns = l.turns(&id).unwrap();
        assert_eq!(turns.iter().map(|t| t.content.as_str()).collect::<Vec<_>>(), ["hi", "hello"]);
        assert_eq!(l.expire_threads(1000, 10).unwrap(), 1);
        assert!(!l.thread_exists(&id).unwrap());
        assert_ne!(new_id(), new_id());
    }
}
