#!/usr/bin/env python3
"""An MCP server with one tool, `echo(text)` -> $ECHO_PREFIX + text (Python mcp SDK 2.x).

  mcp_echo_server.py              stdio
  mcp_echo_server.py --http PORT  streamable HTTP on 127.0.0.1:PORT/mcp
ECHO_PREFIX proves a server got its environment (a secret, through `aiorch secrets exec`).
"""
import os
import sys

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("e2e-echo")


@mcp.tool()
def echo(text: str) -> str:
    """Echo back the given text, after $ECHO_PREFIX."""
    return os.environ.get("ECHO_PREFIX", "") + text


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        mcp.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        mcp.run()
