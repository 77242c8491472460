#!/usr/bin/env python3
"""Check what a real client sent to the fake API (or listed) against the agentsmd source.

The expectations are read from the source tree itself, independently of aiorch's code:
markers = the first line of AGENTS.md and of every rules/*.md plus the last line of the last rule
(proves the whole composed file arrived), commands = {name: description} from commands/*.md
frontmatter. Prints one line per check, `ok <what>` or `FAIL <what>: <why>`; the shell side
counts them. Exit 0 unless the input cannot be read.

usage: inspect_request.py KIND AGENTSMD_DIR HOME FILE [ARG]
  KIND: claude | claude-command | gemini | gemini-command | gemini-toml | codex | copilot |
        copilot-instructions | copilot-skills
  FILE: a recorded request (fakeapi.py), a `--json` listing, or the commands directory (gemini-toml)
  ARG:  the argument passed to the command (the *-command kinds)
Standard library only.
"""
import glob
import json
import os
import re
import sys


def out(ok, what, why=""):
    print(f"ok {what}" if ok else f"FAIL {what}: {why}")


def frontmatter(text):
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    front, body = text[4:end], text[end + 4:].split("\n", 1)[1] if "\n" in text[end + 4:] else ""
    meta = {}
    for line in front.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = json.loads(v)
            elif len(v) >= 2 and v[0] == v[-1] == "'":
                v = v[1:-1].replace("''", "'")
            meta[k.strip()] = v
    return meta, body


def source(agentsmd):
    first = lambda p: next(l for l in open(p, encoding="utf-8").read().splitlines() if l.strip())
    last = lambda p: [l for l in open(p, encoding="utf-8").read().splitlines() if l.strip()][-1]
    rules = sorted(glob.glob(os.path.join(agentsmd, "rules", "*.md")))
    markers = [first(os.path.join(agentsmd, "AGENTS.md"))] + [first(r) for r in rules]
    if rules:
        markers.append(last(rules[-1]))
    commands = {}
    for p in sorted(glob.glob(os.path.join(agentsmd, "commands", "**", "*.md"), recursive=True)):
        meta, body = frontmatter(open(p, encoding="utf-8").read())
        name = os.path.relpath(p, os.path.join(agentsmd, "commands"))[:-3]
        commands[name] = {"description": meta.get("description", ""), "body": body}
    return markers, commands


def has_line(text, line):
    return re.search(r"(?m)^[ \t]*" + re.escape(line.strip()) + r"[ \t]*$", text) is not None


def check_markers(text, markers, where):
    for m in markers:
        out(has_line(text, m), f"{where} contains the line {m[:60]!r}", "not found")


def expanded_first_line(commands, name, arg):
    body = commands[name]["body"]
    return next(l for l in body.splitlines() if l.strip()).replace("$ARGUMENTS", arg)


def body_of(path):
    return json.load(open(path))["body"]


def claude_texts(b):
    texts = [s.get("text", "") for s in b.get("system") or [] if isinstance(s, dict)]
    if isinstance(b.get("system"), str):
        texts.append(b["system"])
    for m in b.get("messages", []):
        c = m.get("content")
        texts += [c] if isinstance(c, str) else [x.get("text", "") for x in c if isinstance(x, dict)]
    return texts


def main():
    kind, agentsmd, home, path = sys.argv[1:5]
    arg = sys.argv[5] if len(sys.argv) > 5 else ""
    markers, commands = source(agentsmd)

    if kind == "claude":
        t = "\n".join(claude_texts(body_of(path)))
        for f in ("CLAUDE.md", "AGENTS.md"):
            out(f"Contents of {home}/.claude/{f} (" in t, f"claude loaded ~/.claude/{f}", "no 'Contents of' block")
        check_markers(t, markers, "claude's prompt")
        blk = re.search(r"The following skills are available for use with the Skill tool:\n\n?((?:- .*\n?)+)", t)
        listed = blk.group(1) if blk else ""
        for n, c in commands.items():
            out(f"- {n}: {c['description']}" in listed, f"claude offers command /{n} with its description", "not in the skills listing")
    elif kind == "claude-command":
        want = expanded_first_line(commands, "review", arg)
        t = claude_texts(body_of(path))
        out(any(x.startswith(want) for x in t), f"claude expanded /review {arg} ($ARGUMENTS)", f"no message starts with {want!r}")
    elif kind == "gemini":
        b = body_of(path)
        si = "\n".join(p.get("text", "") for p in (b.get("systemInstruction") or {}).get("parts", []))
        ctx = re.findall(r"--- Context from: (.+?) ---", si)
        out(f"{home}/.gemini/AGENTS.md" in ctx, "gemini loaded ~/.gemini/AGENTS.md (context.fileName)", f"context files: {ctx}")
        check_markers(si, markers, "gemini's system instruction")
    elif kind == "gemini-command":
        want = expanded_first_line(commands, "review", arg)
        parts = [p.get("text", "") for c in body_of(path).get("contents", []) if c.get("role") == "user" for p in c.get("parts", [])]
        out(any(p.startswith(want) for p in parts), f"gemini expanded /review {arg} ({{{{args}}}})", f"no user part starts with {want!r}")
    elif kind == "gemini-toml":
        import tomllib
        for n, c in commands.items():
            p = os.path.join(path, n + ".toml")
            try:
                d = tomllib.load(open(p, "rb"))
            except Exception as e:  # noqa: BLE001 - any parse error is the finding
                out(False, f"gemini command {n}.toml parses", str(e))
                continue
            prompt = d.get("prompt")
            ok = isinstance(prompt, str) and "$ARGUMENTS" not in prompt and ("{{args}}" in prompt) == ("$ARGUMENTS" in c["body"])
            out(ok, f"gemini command {n}.toml: prompt with {{{{args}}}}", f"prompt={str(prompt)[:80]!r}")
            out(d.get("description") == c["description"], f"gemini command {n}.toml: description", f"{d.get('description')!r}")
    elif kind == "codex":
        b = body_of(path)
        texts = [c["text"] for it in b.get("input", []) if isinstance(it.get("content"), list)
                 for c in it["content"] if isinstance(c, dict) and c.get("text")]
        t = "\n".join(texts)
        m = re.search(r"# AGENTS\.md instructions[^\n]*\n\n<INSTRUCTIONS>\n(.*?)</INSTRUCTIONS>", t, re.S)
        out(m is not None, "codex sent an AGENTS.md instructions block", "none")
        check_markers(m.group(1) if m else "", markers, "codex's AGENTS.md block")
        sk = re.search(r"### Available skills\n(.*?)(?:\n###|\Z)", t, re.S)
        listed = sk.group(1) if sk else ""
        for n, c in commands.items():
            name = n.replace("/", "-")
            out(f"- {name}: {c['description']} (file:" in listed, f"codex lists skill {name} with its description", "not in 'Available skills'")
    elif kind == "copilot":
        b = body_of(path)
        sysmsg = "\n".join(m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                           for m in b.get("messages", []) if m.get("role") == "system")
        blocks = re.findall(r"<custom_instruction>\n(.*?)</custom_instruction>", sysmsg, re.S)
        out(len(blocks) >= 1, "copilot sent a <custom_instruction> block", "none")
        check_markers("\n".join(blocks), markers, "copilot's custom instructions")
    elif kind == "copilot-instructions":
        rows = json.load(open(path))
        want = f"{home}/.copilot/copilot-instructions.md"
        hit = [r for r in rows if r.get("sourcePath") == want]
        out(bool(hit) and hit[0].get("location") == "user", "copilot instruction list has ~/.copilot/copilot-instructions.md",
            f"listed: {[r.get('sourcePath') for r in rows]}")
    elif kind == "copilot-skills":
        rows = {r["name"]: r for r in json.load(open(path))}
        for n, c in commands.items():
            name = n.replace("/", "-")
            r = rows.get(name)
            ok = r is not None and r.get("enabled") is True and r.get("path", "").startswith(f"{home}/.copilot/skills/")
            out(ok, f"copilot skill list has /{name} (enabled, from ~/.copilot/skills)", f"got {r}")
            if r is not None:
                out(r.get("description") in (None, c["description"]), f"copilot skill {name}: description", f"{r.get('description')!r}")
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
