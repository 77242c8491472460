# home-manager's own client modules and programs.aiorch together: the setup most Nix users will
# have. aiorch's policy, marketplaces and plugins go into programs.claude-code.settings (the
# user's own value wins, with a warning); programs.mcp's servers join aiorch's registry;
# aiorch's servers are published into programs.mcp. Its rendered config is
# nix/tests/fixtures/compose-config.json and what programs.aiorch hands to programs.claude-code
# is nix/tests/fixtures/compose-claude.json (the Rust test
# `nix_fixtures::compose_fixture_is_what_the_binary_renders_for_claude` checks that
# `aiorch render --client claude` of that config prints exactly that). Used by
# nix/tests/default.nix and by hand:
#   shared/tools/nix/eval-hm-module.sh nix/hm-module.nix nix/tests/compose-test.nix
{
  programs.claude-code = {
    enable = true;
    # the offline stub has no claude-code; home-manager allows a null package
    package = null;
    settings = {
      theme = "dark";
      permissions.allow = [ "Bash(make test:*)" ];
      # the user's choice beats aiorch's `enabledPlugins."example-skills@…" = true` (warning)
      enabledPlugins."example-skills@anthropic-agent-skills" = false;
    };
  };

  programs.mcp = {
    enable = true;
    servers = {
      everything = {
        command = "npx";
        args = [
          "-y"
          "@modelcontextprotocol/server-everything"
        ];
        # read when the server starts (home-manager master's file-based secrets)
        env.EVERYTHING_TOKEN.file = "/run/secrets/everything";
        env.LOG_LEVEL = "warn";
      };
      github = {
        command = "github-mcp-server";
        args = [ "stdio" ];
      };
      docs = {
        url = "https://mcp.example.com/mcp";
        headers.X-Team = "tools";
      };
    };
  };

  programs.aiorch = {
    enable = true;
    clients = {
      claude = "always";
      gemini = "never";
      codex = "never";
      copilot = "never";
    };
    plugins = [ "pdf@anthropic-agent-skills" ];
    marketplaces.team.source = {
      source = "directory";
      path = "~/src/team-plugins";
    };
    mcpServers.filesystem = {
      command = "npx";
      args = [
        "-y"
        "@modelcontextprotocol/server-filesystem"
        "/tmp"
      ];
      secrets = [ "FS_TOKEN" ];
    };
    mcp = {
      secrets.github = [ "GITHUB_TOKEN" ];
      publish = true;
    };
    settings.policy = {
      posture = "deny";
      allow.commands = [ "cargo   test" ];
      deny.hosts = [ "Evil.Example.com" ];
    };
    services.litellm.enable = true;
  };
}
