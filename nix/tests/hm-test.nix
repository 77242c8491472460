# A representative home-manager configuration of programs.aiorch. Its rendered config is
# nix/tests/fixtures/hm-config.json (the `fixtures` check keeps them equal; the Rust tests feed
# that file to `aiorch apply --config`). Used by nix/tests/default.nix and by hand:
#   shared/tools/nix/eval-hm-module.sh nix/hm-module.nix nix/tests/hm-test.nix
{
  programs.aiorch = {
    enable = true;

    localOnlyMode = false;
    defaultResearchModel = "gemini/gemini-3.1-pro-preview";
    defaultCodingModel = "anthropic/claude-sonnet-4-6";
    defaultFastModel = "openai/gpt-5-mini";
    localResearchModel = "ollama/qwen3:8b";
    localCodingModel = "ollama/qwen2.5-coder:7b";
    secretsBackend = "file";
    secrets.file = "~/.config/aiorch/secrets.env";
    ollamaHost = "http://127.0.0.1:11434";

    agentsmd.homeAgentsMd = true;
    clients = {
      claude = "always";
      gemini = "auto";
      codex = "auto";
    };

    mcpServers.filesystem = {
      command = "npx";
      args = [
        "-y"
        "@modelcontextprotocol/server-filesystem"
        "/tmp"
      ];
    };
    marketplaces.anthropic-agent-skills.source = {
      source = "github";
      repo = "anthropics/skills";
    };
    plugins = [ "document-skills@anthropic-agent-skills" ];

    services = {
      litellm = {
        enable = true;
        host = "127.0.0.1";
        port = 4000;
        # budget spend in Redis (the redis unit below, pkgs.redis)
        redis = true;
      };
      redis = {
        enable = true;
        port = 6379;
      };
      localModel = {
        enable = true;
        port = 11434;
      };
      # not enabled, but set: rendered with enable = false, no unit
      openWebui.port = 8080;
    };

    # freeform: merged with what the typed options set
    settings.clients.copilot = "never";

    serviceEnvironment.LITELLM_LOG = "ERROR";
  };
}
