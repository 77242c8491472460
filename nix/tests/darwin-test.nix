# A representative nix-darwin configuration of services.aiorch (for system.primaryUser). Its
# rendered config is nix/tests/fixtures/darwin-config.json (kept equal by the `fixtures`
# check). Used by nix/tests/default.nix and by hand:
#   shared/tools/nix/eval-darwin-module.sh nix/darwin-module.nix nix/tests/darwin-test.nix
{
  services.aiorch = {
    enable = true;

    localOnlyMode = true;
    localResearchModel = "ollama/qwen3:8b";
    localCodingModel = "ollama/qwen2.5-coder:7b";
    secretsBackend = "env";
    ollamaHost = "http://127.0.0.1:11434";

    agentsmd.homeAgentsMd = false;
    clients = {
      claude = "auto";
      gemini = "never";
    };

    services = {
      localModel = {
        enable = true;
        host = "127.0.0.1";
        port = 11434;
      };
      openWebui = {
        enable = true;
        port = 8080;
      };
    };

    settings.models.default_fast = "ollama/qwen3:8b";
  };
}
