# compose-test.nix plus home-manager's Codex, Gemini CLI, OpenCode and Aider modules, each with settings
# of the user's (so each file is a read-only store link): aiorch's MCP servers (and Gemini's
# context names) go into their settings, merged with the user's. Its rendered config is
# nix/tests/fixtures/compose-clients-config.json and what each module gets is
# nix/tests/fixtures/compose-{codex,gemini,opencode,aider}.json (the Rust test `nix_fixtures` checks
# that `aiorch render --client NAME` of that config prints exactly that).
{ lib, ... }:
{
  imports = [ ./compose-test.nix ];

  programs.aiorch = {
    clients = {
      codex = lib.mkForce "always";
      gemini = lib.mkForce "always";
      opencode = "always";
      aider = "always";
    };
    # Codex reaches models through aiorch's gateway (LiteLLM): its provider goes into
    # programs.codex.settings too, and the user's `model` wins (with a warning)
    settings.gateway.route_clients = [ "codex" ];
    mcpServers = {
      # a remote server with a bearer token and a header from the environment, a timeout
      tracker = {
        url = "https://tracker.example.com/mcp";
        headers = {
          Authorization = "Bearer \${TRACKER_TOKEN}";
          X-Org = "\${TRACKER_ORG}";
        };
        timeout = 30;
      };
      # a stdio server with a working directory and a tool allow-list
      notes = {
        command = "~/bin/notes-mcp";
        cwd = "~/notes";
        tools = [ "search" ];
        env.NOTES_ROOT = "\${HOME}/notes";
      };
    };
  };

  programs.codex = {
    enable = true;
    package = null;
    settings = {
      model = "o4-mini";
      # the user's own server of a name aiorch also has: theirs wins, with a warning
      mcp_servers.github.command = "my-github-mcp";
    };
  };

  # home-manager master renamed gemini-cli; the old name still works and keeps the Gemini paths
  programs.gemini-cli = {
    enable = true;
    package = null;
    settings = {
      theme = "Default";
      context.fileName = [ "CONTEXT.md" ];
    };
  };

  programs.aider-chat = {
    enable = true;
    package = null;
    settings = {
      dark-mode = true;
      read = [ "CONVENTIONS.md" ];
    };
  };

  programs.opencode = {
    enable = true;
    package = null;
    settings.autoupdate = false;
  };
}
