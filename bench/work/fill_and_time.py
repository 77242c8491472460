#!/usr/bin/env python3
"""Fill a runtime.db (schema created by aiorch itself) with N tasks and N memory facts, then
time the queries `aiorch task next` and `aiorch memory search` run (copied from
src/runtime/tasks.rs `next_in` and src/runtime/memory.rs `search`), median of R runs each.

Tasks: 90% done, 5% blocked, 5% open; every open task waits for an earlier task, and half of
those wait for one that is not done, so `next` has to skip waiting tasks to find a ready one.
Facts: 6-14 words each from a 5,000-word vocabulary (Zipf-ish), plus one planted fact.
"""
import random
import sqlite3
import statistics
import sys
import time

db, project, n, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(15)
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")

now = 1_795_256_700
rows = []
for i in range(1, n + 1):
    r = rnd.random()
    status = "done" if r < 0.90 else "blocked" if r < 0.95 else "open"
    rows.append((project, f"task {i}", "", rnd.randrange(4), status, f"thread-{i}", now + i, now + i))
c.executemany(
    "INSERT INTO tasks (project, title, body, priority, role, status, thread_id, created, updated) "
    "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)", rows)
first = c.execute("SELECT MIN(id) FROM tasks WHERE project = ?", (project,)).fetchone()[0]
open_ids = [r[0] for r in c.execute("SELECT id FROM tasks WHERE project = ? AND status = 'open'", (project,))]
blocked = [r[0] for r in c.execute("SELECT id FROM tasks WHERE project = ? AND status = 'blocked'", (project,))]
deps = []
for k, t in enumerate(open_ids):
    if k % 2 == 0 and blocked:
        deps.append((t, rnd.choice([b for b in blocked[:50] if b < t] or [first])))
    else:
        deps.append((t, rnd.randrange(first, t) if t > first else first))
c.executemany("INSERT OR IGNORE INTO task_deps (task, after) VALUES (?, ?)", deps)

vocab = [f"w{i}" for i in range(5000)]
weights = [1 / (i + 1) for i in range(5000)]
facts = []
for i in range(n):
    words = rnd.choices(vocab, weights, k=rnd.randint(6, 14))
    facts.append((project, now + i, "bench", " ".join(words)))
facts.append((project, now, "bench", "the staging database listens on port 5433"))
c.executemany("INSERT INTO memory (project, ts, source, text) VALUES (?, ?, ?, ?)", facts)
c.commit()
c.execute("ANALYZE")

NEXT = """SELECT id, project, title, body, priority, role, status, thread_id, created, updated
 FROM tasks t INDEXED BY tasks_ready
 WHERE t.project = ?1 AND t.status = 'open'
   AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks a ON a.id = d.after
                   WHERE d.task = t.id AND a.status != 'done')
 ORDER BY t.priority DESC, t.created, t.id LIMIT 1"""
RANKED = """SELECT m.id, m.project, m.ts, m.source, m.text, bm25(memory_fts) AS r
 FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
 WHERE memory_fts MATCH ?1 AND m.project = ?2 ORDER BY r LIMIT ?3"""
NEWEST = """SELECT m.id, m.project, m.ts, m.source, m.text, 0.0
 FROM memory_fts JOIN memory m ON m.id = memory_fts.rowid
 WHERE memory_fts MATCH ?1 AND m.project = ?2 ORDER BY memory_fts.rowid DESC LIMIT ?3"""
RANKED_MATCHES = 2000


def search(query, limit=10):
    """memory.rs `search`: keep the rarest words while they match <= RANKED_MATCHES facts."""
    words = list(dict.fromkeys(w.lower() for w in query.split()))
    df = "SELECT doc FROM memory_vocab WHERE term = ?"
    counted = sorted(((c.execute(df, (w,)).fetchone() or (0,))[0], w) for w in words)
    kept, total = [], 0
    for n, w in counted:
        if total + n > RANKED_MATCHES:
            break
        total += n
        kept.append(w)
    if kept:
        return c.execute(RANKED, (" OR ".join(f'"{w}"' for w in kept), project, limit)).fetchall()
    return c.execute(NEWEST, (" AND ".join(f'"{w}"' for w in words), project, limit)).fetchall()


def median_fn(f, *args):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        f(*args)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out)


def median_ms(sql, args):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        c.execute(sql, args).fetchall()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out)


print(f"sqlite {sqlite3.sqlite_version}; {n} tasks ({len(open_ids)} open, {len(deps)} with --after), "
      f"{n + 1} facts; median/max of {runs} runs")
print("task next:                      %.3f / %.3f ms" % median_ms(NEXT, (project,)))
assert "5433" in search("staging port")[0][4]
print("memory search, rare words:      %.3f / %.3f ms" % median_fn(search, "staging port"))
print("memory search, common words:    %.3f / %.3f ms" % median_fn(search, "w1 w2 w3"))
print("memory search, a mix:           %.3f / %.3f ms" % median_fn(search, "w1 w40 w4000"))
print("memory search, mid-frequency:   %.3f / %.3f ms" % median_fn(search, "w300 w301 w302"))

# Worst case for `next`: every open task but one waits for a blocked task, and the one ready
# task comes last in the order (lowest priority, newest): `next` checks each waiting one.
last = max(open_ids)
c.execute("UPDATE tasks SET priority = 0, created = ? WHERE id = ?", (now + 10 * n, last))
c.execute("DELETE FROM task_deps WHERE task = ?", (last,))
c.executemany("INSERT OR IGNORE INTO task_deps (task, after) VALUES (?, ?)", [(t, blocked[0]) for t in open_ids if t != last])
c.commit()
assert c.execute(NEXT, (project,)).fetchone()[0] == last
print("task next, worst case:          %.3f / %.3f ms  (%d open tasks waiting)" % (*median_ms(NEXT, (project,)), len(open_ids) - 1))
