# nix-darwin module: services.aiorch, for the primary user (system.primaryUser)
#
# Installs the package and, for the primary user, runs `aiorch apply --config <the rendered
# config>` at the end of activation (nix-darwin activates as root: the command runs as that
# user through `launchctl asuser … sudo --user`), and defines launchd.user.agents for the
# enabled services. Works without home-manager. With home-manager's nix-darwin module,
# `services.aiorch.homeManager.enable = true` hands the per-user part to home-manager instead
# (programs.aiorch of home-manager.users.<primaryUser>, with the same option values).
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  shared = import ./options.nix { inherit lib pkgs; };
  cfg = config.services.aiorch;
  user = config.system.primaryUser;
  home = config.system.primaryUserHome;
  viaHomeManager = cfg.homeManager.enable;

  path = shared.searchPath {
    inherit cfg home user;
    isDarwin = true;
    profileBins = [ "${config.system.path}/bin" ];
  };
  units = shared.serviceUnits { inherit cfg path; };

  hmHasAiorch = config.home-manager.users.${user}.programs.aiorch.enable or false;
  # home-manager's programs.claude-code of the same user writes ~/.claude/settings.json into the
  # store: applying from here, aiorch must leave it alone (handing over to home-manager instead
  # composes aiorch's part into it, nix/compose.nix)
  # (likewise the other client modules' settings files, nix/compose.nix)
  hmUser = config.home-manager.users.${user} or { };
  hmPrograms = hmUser.programs or { };
  hmMcp = hmPrograms.mcp or { };
  # settings of the user's, or the module's own programs.mcp integration, make home-manager
  # write the file
  hmWrites =
    m:
    let
      p = hmPrograms.${m} or { };
    in
    !viaHomeManager
    && (p.enable or false)
    && (
      (p.settings or { }) != { } && p.settings != null
      || (p.enableMcpIntegration or false) && (hmMcp.enable or false) && (hmMcp.servers or { }) != { }
    );
  hmFiles = lib.filter (f: f.on) [
    {
      on = hmWrites "claude-code";
      path = "~/.claude/settings.json";
      by = "programs.claude-code";
      what = "Claude does not get aiorch's permission policy, marketplaces and plugins";
    }
    {
      on = hmWrites "codex";
      # ~/.config/codex/config.toml with home.preferXdgDirectories
      path = "${shared.codexDir hmUser}/config.toml";
      by = "programs.codex";
      what = "Codex does not get aiorch's MCP servers";
    }
    {
      # home-manager master: programs.antigravity-cli, with the Gemini paths
      on =
        hmWrites "gemini-cli"
        || hmWrites "antigravity-cli" && (hmPrograms.antigravity-cli.useLegacyGeminiConfig or false);
      path = "~/.gemini/settings.json";
      by = if hmPrograms ? antigravity-cli then "programs.antigravity-cli" else "programs.gemini-cli";
      what = "Gemini CLI does not get aiorch's MCP servers and context names";
    }
    {
      # master writes opencode.json (release-25.11 config.json, which OpenCode reads first)
      on = hmWrites "opencode" && hmPrograms.opencode ? tui;
      path = "~/.config/opencode/opencode.json";
      by = "programs.opencode";
      what = "OpenCode does not get aiorch's MCP servers and permission policy";
    }
    {
      on = hmWrites "aider-chat";
      path = "~/.aider.conf.yml";
      by = "programs.aider-chat";
      what = "Aider does not get aiorch's instructions and gateway settings";
    }
  ];
  # Whatever else home-manager writes where aiorch would (instructions, commands, skills: the
  # client modules' other options, or the user's own home.file / xdg.configFile): left alone too
  codexRel = lib.removePrefix "~/" (shared.codexDir hmUser);
  aiorchPaths = [
    "AGENTS.md"
    ".claude/CLAUDE.md"
    ".claude/AGENTS.md"
    ".claude/commands/"
    ".gemini/AGENTS.md"
    ".gemini/commands/"
    ".gemini/policies/aiorch.toml"
    "${codexRel}/AGENTS.md"
    "${codexRel}/skills/"
    "${codexRel}/rules/aiorch.rules"
    ".copilot/copilot-instructions.md"
    ".copilot/skills/"
    ".copilot/mcp-config.json"
    ".copilot/settings.json"
    ".config/opencode/AGENTS.md"
    ".config/opencode/commands/"
  ];
  aiorchWrites = t: lib.any (p: t == p || lib.hasSuffix "/" p && lib.hasPrefix p t) aiorchPaths;
  hmOtherFiles = lib.optionals (!viaHomeManager) (
    lib.subtractLists (map (f: f.path) hmFiles) (
      map (f: "~/${f.target}") (
        lib.filter (f: (f.enable or true) && aiorchWrites f.target) (lib.attrValues (hmUser.home.file or { }))
      )
    )
  );
in
{
  options.services.aiorch =
    shared.mkOptions {
      inherit cfg;
      prefix = "services.aiorch";
    }
    // {
      nixManaged = lib.mkOption {
        type = lib.types.listOf (lib.types.attrsOf lib.types.str);
        internal = true;
        default =
          map (f: { inherit (f) path by; }) hmFiles
          ++ map (path: {
            inherit path;
            by = "home-manager.users.${user}.home.file";
          }) hmOtherFiles;
        description = "`apply.nix_managed` of the rendered config: files Nix writes.";
      };
      homeManager.enable = lib.mkOption {
        type = lib.types.bool;
        default = false;
        description = ''
          Let home-manager do the per-user part: import the aiorch home-manager module into
          `home-manager.users.<system.primaryUser>` and forward these options to
          `programs.aiorch` there (activation with `DRY_RUN`/`VERBOSE`, launchd agents).
          Needs home-manager's nix-darwin module. Off: this module does it itself.
        '';
      };
    };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        environment.systemPackages = [ cfg.package ];
        system.requiresPrimaryUser = [ "services.aiorch.enable" ];

        assertions = [
          {
            assertion = viaHomeManager -> options ? home-manager;
            message = "services.aiorch.homeManager.enable needs home-manager's nix-darwin module (home-manager.darwinModules.home-manager).";
          }
        ];
        warnings =
          lib.optional (!viaHomeManager && hmHasAiorch) ''
            aiorch is enabled both by services.aiorch and by programs.aiorch of home-manager.users.${user}:
            both would apply their config. Keep one, or set services.aiorch.homeManager.enable = true.
          ''
          ++ map (f: ''
            services.aiorch: ${f.by} of home-manager.users.${user} writes ${f.path}
            into the Nix store; aiorch leaves it alone, so ${f.what}. Set
            services.aiorch.homeManager.enable = true to hand them to ${f.by}.
          '') hmFiles
          ++ lib.optional (hmOtherFiles != [ ]) ''
            services.aiorch: home-manager.users.${user} writes ${toString (lib.length hmOtherFiles)} file(s) where aiorch
            would (${lib.concatStringsSep ", " hmOtherFiles}); aiorch leaves them alone. Set
            services.aiorch.homeManager.enable = true to join aiorch's instructions and commands
            with the client modules' own options.
          '';
      }

      (lib.mkIf (!viaHomeManager) {
        environment.variables.AIORCH_CONFIG = "${cfg.configFile}";

        system.activationScripts.postActivation.text = lib.mkIf cfg.activation.enable ''
          echo "aiorch: applying the configuration for ${user}..." >&2
          ${shared.applyScript {
            inherit cfg path;
            runAs = user;
            # the user's CODEX_HOME of home-manager (programs.codex's XDG directory)
            environment = shared.applyEnvironment hmUser;
          }}
        '';

        launchd.user.agents = lib.mapAttrs (unit: u: {
          serviceConfig = shared.launchdConfig home unit u;
        }) units;
      })

      (lib.optionalAttrs (options ? home-manager) {
        home-manager.users = lib.mkIf viaHomeManager {
          ${user} = {
            imports = [ ./hm-module.nix ];
            programs.aiorch = {
              enable = true;
            }
            // lib.getAttrs shared.forwardedOptions cfg;
          };
        };
      })
    ]
  );
}
