//! Memory that outlives a thread: facts per project in the runtime's SQLite database, found
//! again with SQLite's FTS5 full-text index (bundled with rusqlite: no server to run).
//! Every process that opens the database sees what another stored.

use rusqlite::params;
use serde::Serialize;

use super::ledger::Ledger;
use crate::error::CliError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS memory (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  ts INTEGER NOT NULL,
  source TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_project ON memory(project, id);
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(text, content='memory', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS memory_ai AFTER INSERT ON memory BEGIN
  INSERT INTO memory_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS memory_ad AFTER DELETE ON memory BEGIN
  INSERT INTO memory_fts(memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
";

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub id: i64,
    pub project: String,
    pub ts: i64,
    /// Who stored it: `cli`, `mcp`, `summary:<thread>`.
    pub source: String,
    pub text: String,
    /// FTS5's bm25 (lower is a better match); 0 outside a search.
    pub rank: f64,
}

pub fn add(l: &Ledger, now: i64, project: &str, source: &str, text: &str) -> anyhow::Result<Fact> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::bad_input("nothing to remember").hint("aiorch memory add \"the fact\"").into());
    }
    let conn = l.lock();
    conn.execute(
        "INSERT INTO memory (project, ts, source, text) VALUES (?1, ?2, ?3, ?4)",
        params![project, now, source, text],
    )?;
    Ok(Fact {
        id: conn.last_insert_rowid(),
        project: project.into(),
        ts: now,
        source: source.into(),
        text: text.into(),
        rank: 0.0,
    })
}

/// The words of `query` as an FTS5 expression: each word quoted (no operator or column syntax
/// from the user reaches FTS5), any of them may match; bm25 ranks facts matching more and
/// rarer words first.
fn fts_query(query: &str) -> Option<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

pub fn search(l: &Ledger, project: &str, query: &str, limit: usize) -> anyhow::Result<Vec<Fact>> {
    let Some(q) = fts_query(query) else {
        return Err(CliError::bad_input("an empty search").hint("aiorch memory search \"words to look for\"").into());
    };
    let conn = l.lock();
    let mut st = conn.prepare_cached(
        "SELECT m.id, m.project, m.ts, m.source, m.text, bm25(memory_fts) AS r
         FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
         WHERE memory_fts MATCH ?1 AND m.project = ?2 ORDER BY r LIMIT ?3",
    )?;
    let rows = st.query_map(params![q, project, limit as i64], |r| {
        Ok(Fact {
            id: r.get(0)?,
            project: r.get(1)?,
            ts: r.get(2)?,
            source: r.get(3)?,
            text: r.get(4)?,
            rank: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The project's facts, newest first.
pub fn list(l: &Ledger, project: &str, limit: usize) -> anyhow::Result<Vec<Fact>> {
    let conn = l.lock();
    let mut st =
        conn.prepare("SELECT id, project, ts, source, text FROM memory WHERE project = ?1 ORDER BY id DESC LIMIT ?2")?;
    let rows = st.query_map(params![project, limit as i64], |r| {
        Ok(Fact { id: r.get(0)?, project: r.get(1)?, ts: r.get(2)?, source: r.get(3)?, text: r.get(4)?, rank: 0.0 })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn forget(l: &Ledger, project: &str, id: i64) -> anyhow::Result<()> {
    let n = l.lock().execute("DELETE FROM memory WHERE id = ?1 AND project = ?2", params![id, project])?;
    if n == 0 {
        return Err(CliError::bad_input(format!("no memory {id} in project {project}"))
            .hint("`aiorch memory list` shows the ids")
            .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_sqlite_has_fts5() {
        let c = rusqlite::Connection::open_in_memory().expect("sqlite");
        c.execute_batch("CREATE VIRTUAL TABLE t USING fts5(x); INSERT INTO t VALUES ('hello world');").expect("fts5");
        let n: i64 = c.query_row("SELECT COUNT(*) FROM t WHERE t MATCH 'world'", [], |r| r.get(0)).expect("match");
        assert_eq!(n, 1);
    }

    #[test]
    fn search_ranks_finds_and_forgets() {
        let l = Ledger::in_memory().expect("ledger");
        add(&l, 1, "/p", "cli", "The staging database listens on port 5433").expect("add");
        let b = add(&l, 2, "/p", "cli", "Deploys go out on Tuesdays").expect("add");
        add(&l, 3, "/q", "cli", "staging database port is 6000 in the other project").expect("add");
        let hits = search(&l, "/p", "which port does staging use?", 5).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].text.contains("5433"));
        // FTS syntax in a query is text, not an operator or a column filter.
        assert!(search(&l, "/p", "text: NEAR(\"port\" OR", 5).is_ok());
        forget(&l, "/p", b.id).expect("forget");
        assert!(search(&l, "/p", "Tuesdays", 5).expect("search").is_empty(), "the index forgets too");
        assert!(forget(&l, "/p", b.id).is_err(), "gone");
        assert!(search(&l, "/p", "  ?! ", 5).is_err(), "no words");
    }
}
