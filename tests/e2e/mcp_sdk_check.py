#!/usr/bin/env python3
"""List and call every tool of an MCP stdio server with the official Python `mcp` SDK.
Usage: mcp_sdk_check.py CASES.json -- CMD [ARGS...]
CASES.json: {"tool": {"args": {...}, "expect_error": false, "expect_text": "substring", "progress": 3}, ...}
Prints one line per tool and exits 1 on any mismatch (or when a listed tool has no case)."""
import asyncio, json, os, sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    cases = json.load(open(sys.argv[1]))
    cmd = sys.argv[sys.argv.index("--") + 1:]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    failed = 0
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            info = getattr(init, "server_info", None) or init.serverInfo
            print(f"server {info.name} {info.version}, protocol {getattr(init, 'protocol_version', None) or init.protocolVersion}")
            tools = (await s.list_tools()).tools
            names = [t.name for t in tools]
            print(f"tools/list: {len(names)} tools: {', '.join(names)}")
            missing = [n for n in names if n not in cases]
            if missing:
                print(f"FAIL no test case for {missing}")
                failed += 1
            for name in names:
                case = cases.get(name)
                if case is None:
                    continue
                seen = []

                async def on_progress(progress, total, message):
                    seen.append((progress, total, message))

                res = await s.call_tool(name, case.get("args", {}), progress_callback=on_progress)
                text = "".join(getattr(c, "text", "") for c in res.content)
                is_error = bool(getattr(res, "is_error", None) if hasattr(res, "is_error") else res.isError)
                ok = is_error == bool(case.get("expect_error", False))
                if case.get("expect_text") and case["expect_text"] not in text:
                    ok = False
                if "progress" in case and len(seen) != case["progress"]:
                    ok = False
                first = text.strip().splitlines()[0] if text.strip() else ""
                print(f"{'ok  ' if ok else 'FAIL'} {name:<11} isError={is_error} progress={len(seen)} | {first[:100]}")
                if not ok:
                    print(text[:2000])
                    failed += 1
    sys.exit(1 if failed else 0)


asyncio.run(main())
