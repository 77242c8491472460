//! Memory that outlives a thread: facts per project in the runtime's SQLite database, found
//! again with SQLite's FTS5 full-text index (bundled with rusqlite: no server to run).
//! Every process that opens the database sees what another stored.

use rusqlite::{OptionalExtension, params};
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
CREATE VIRTUAL TABLE IF NOT EXISTS memory_vocab USING fts5vocab(memory_fts, 'row');
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

/// The words of `query`, lower-cased (FTS5's tokenizer folds case), each once.
fn words(query: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for w in query.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()) {
        let w = w.to_lowercase();
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Ranking scores every fact that matches any word (bm25 needs them all); words as common as
/// "the" match nearly every fact and would make a search over 100,000 facts take 100 ms for
/// no better order. So the rarest words are kept while the facts they match stay under this
/// many (their document counts come from FTS5's own vocabulary table); if even the rarest word
/// is more common, the newest facts holding every word are returned instead (FTS5 walks its
/// index newest-first and stops at the limit).
const RANKED_MATCHES: i64 = 2000;

/// Each word quoted: no operator or column syntax from the user reaches FTS5.
fn quoted(words: &[&String], op: &str) -> String {
    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(op)
}

pub fn search(l: &Ledger, project: &str, query: &str, limit: usize) -> anyhow::Result<Vec<Fact>> {
    let all = words(query);
    if all.is_empty() {
        return Err(CliError::bad_input("an empty search").hint("aiorch memory search \"words to look for\"").into());
    }
    let conn = l.lock();
    let mut df = conn.prepare_cached("SELECT doc FROM memory_vocab WHERE term = ?1")?;
    let mut counted: Vec<(i64, &String)> = vec![];
    for w in &all {
        let n: i64 = df.query_row(params![w], |r| r.get(0)).optional()?.unwrap_or(0);
        counted.push((n, w));
    }
    counted.sort();
    let mut kept = vec![];
    let mut total = 0;
    for (n, w) in &counted {
        if total + n > RANKED_MATCHES {
            break;
        }
        total += n;
        kept.push(*w);
    }
    let row = |r: &rusqlite::Row<'_>| {
        Ok(Fact {
            id: r.get(0)?,
            project: r.get(1)?,
            ts: r.get(2)?,
            source: r.get(3)?,
            text: r.get(4)?,
            rank: r.get(5)?,
        })
    };
    let sql = if kept.is_empty() {
        "SELECT m.id, m.project, m.ts, m.source, m.text, 0.0
         FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
         WHERE memory_fts MATCH ?1 AND m.project = ?2 ORDER BY memory_fts.rowid DESC LIMIT ?3"
    } else {
        "SELECT m.id, m.project, m.ts, m.source, m.text, bm25(memory_fts) AS r
         FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
         WHERE memory_fts MATCH ?1 AND m.project = ?2 ORDER BY r LIMIT ?3"
    };
    let q = if kept.is_empty() { quoted(&all.iter().collect::<Vec<_>>(), " AND ") } else { quoted(&kept, " OR ") };
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params![q, project, limit as i64], row)?;
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

    #[test]
    fn common_words_do_not_rank_the_whole_store() {
        let l = Ledger::in_memory().expect("ledger");
        for i in 0..(RANKED_MATCHES + 10) {
            add(&l, i, "/p", "cli", &format!("the note number {i}")).expect("add");
        }
        add(&l, 9_999, "/p", "cli", "the staging database listens on port 5433").expect("add");
        // "the" is in every fact: it is dropped from the ranked query, "staging" finds the fact.
        let hits = search(&l, "/p", "the staging", 3).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].text.contains("5433"));
        // Only common words: the newest facts that hold them all.
        let hits = search(&l, "/p", "the note", 2).expect("search");
        let ids: Vec<i64> = hits.iter().map(|f| f.ts).collect();
        assert_eq!(ids, [RANKED_MATCHES + 9, RANKED_MATCHES + 8], "{hits:?}");
    }
}
