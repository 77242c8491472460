# What the home-manager module (`programs.aiorch`) and the nix-darwin module
# (`services.aiorch`) share: the option declarations, the rendering of the one JSON config
# (the schema of docs/config-contract.md), the activation snippet that runs `aiorch apply`,
# and the launchd / systemd definitions of the services.
#
# Used as `import ./options.nix { inherit lib pkgs; }`; needs nothing from home-manager or
# nix-darwin, so it can also be evaluated with plain `lib.evalModules`.
{ lib, pkgs }:
let
  inherit (lib)
    concatStringsSep
    filterAttrs
    isAttrs
    isDerivation
    isList
    literalExpression
    mapAttrs
    mapAttrs'
    mkEnableOption
    mkOption
    nameValuePair
    types
    ;

  # A JSON value, like `(pkgs.formats.json { }).type`, but defined here so that the options
  # evaluate without a package set.
  jsonValue =
    types.nullOr (
      types.oneOf [
        types.bool
        types.int
        types.float
        types.str
        types.path
        (types.attrsOf jsonValue)
        (types.listOf jsonValue)
      ]
    )
    // {
      description = "JSON value";
    };

  nullOr =
    type: description: extra:
    mkOption (
      {
        type = types.nullOr type;
        default = null;
        description =
          description
          + "\n\n`null` (the default) leaves the key out of the config, so aiorch's own default applies.";
      }
      // extra
    );

  # option name -> key of `services.*` in the JSON config, name of the unit / agent, and the
  # nixpkgs package that runs it (`argv` of the package: what the rendered config's `command`
  # becomes, so the unit runs a store path and nothing depends on the user's PATH)
  services = {
    litellm = {
      key = "litellm";
      unit = "aiorch-litellm";
      description = "the LiteLLM gateway";
      # nixpkgs' litellm is the proxy build (the `proxy` and `extra_proxy` extras)
      package = _: pkgs.litellm or null;
      packageText = "pkgs.litellm";
      argv = _: pkg: [ (lib.getExe' pkg "litellm") ];
    };
    localModel = {
      key = "local_model";
      unit = "aiorch-local-model";
      description = "the local model server (Ollama, or llama.cpp's `llama-server`)";
      package = svc: if (svc.kind or "ollama") == "llama-server" then pkgs.llama-cpp or null else pkgs.ollama or null;
      packageText = ''pkgs.ollama, or pkgs.llama-cpp with kind = "llama-server"'';
      argv =
        svc: pkg:
        if (svc.kind or "ollama") == "llama-server" then
          [ (lib.getExe' pkg "llama-server") ]
        else
          [
            (lib.getExe' pkg "ollama")
            "serve"
          ];
    };
    redis = {
      key = "redis";
      unit = "aiorch-redis";
      description = "Redis, the gateway's shared budget state (with services.litellm.redis = true)";
      package = _: pkgs.redis or null;
      packageText = "pkgs.redis";
      # aiorch appends `-` and feeds the config (with the password) on stdin
      argv = _: pkg: [ (lib.getExe' pkg "redis-server") ];
    };
    openWebui = {
      key = "open_webui";
      unit = "aiorch-open-webui";
      description = "Open WebUI (the arena)";
      package = _: pkgs.open-webui or null;
      packageText = "pkgs.open-webui";
      argv = _: pkg: [
        (lib.getExe' pkg "open-webui")
        "serve"
      ];
    };
  };

  clientNames = [
    "claude"
    "gemini"
    "codex"
    "copilot"
    "opencode"
    "aider"
  ];

  serviceOption =
    name: svc:
    mkOption {
      default = { };
      description = ''
        `services.${svc.key}` of the config: ${svc.description}. Besides `enable`, `host`,
        `port` and `package`, any other attribute is passed to aiorch as it is. The section is
        left out of the config while it is not enabled and nothing else in it is set.
      '';
      type = types.submodule (
        { config, ... }:
        {
          freeformType = types.attrsOf jsonValue;
          options = {
            enable = mkEnableOption ''
              ${svc.description}. Also creates a user service that runs
              `aiorch service run ${svc.key}`: a launchd agent `${svc.unit}` on macOS, a systemd
              user unit `${svc.unit}.service` on Linux'';
            host = nullOr types.str "Address the service listens on." { example = "127.0.0.1"; };
            port = nullOr types.port "Port the service listens on." { };
            package = mkOption {
              type = types.nullOr types.package;
              default = svc.package config;
              defaultText = literalExpression svc.packageText;
              description = ''
                The package that runs ${svc.description}. While the service is enabled, the
                rendered config's `command` is this package's program in the Nix store (unless
                `command` is set here), so the unit needs nothing on PATH. `null`: aiorch's
                default command, looked up on PATH.
              '';
            };
          };
        }
      );
    };

  # --- rendering -----------------------------------------------------------------------------

  nonNull = filterAttrs (_: v: v != null);
  # a section built here from typed options: null when nothing in it is set
  section =
    attrs:
    let
      kept = filterAttrs (_: v: v != null && v != { }) attrs;
    in
    if kept == { } then null else kept;

  stripNulls =
    v:
    if isDerivation v then
      v
    else if isAttrs v then
      mapAttrs (_: stripNulls) (nonNull v)
    else if isList v then
      map stripNulls v
    else
      v;

  # Deep merge of the typed options' config (a) and `settings` (b). Attribute sets merge; a
  # leaf set on both sides must be equal, else evaluation stops naming the key.
  mergeStrict =
    prefix: path: a: b:
    if isAttrs a && isAttrs b && !isDerivation a && !isDerivation b then
      a // mapAttrs (n: v: if a ? ${n} then mergeStrict prefix (path ++ [ n ]) a.${n} v else v) b
    else if a == b then
      a
    else
      throw "${prefix}: `settings.${concatStringsSep "." path}` = ${builtins.toJSON b} conflicts with ${builtins.toJSON a}, which a typed option of ${prefix} sets; set only one of them.";

  # A service's section: its attributes, and while it is enabled `command` from its package.
  renderService =
    svc: s:
    let
      set = removeAttrs (nonNull s) [ "package" ];
      command = lib.optionalAttrs (s.enable && s.package != null && !(s ? command)) {
        command = svc.argv s s.package;
      };
    in
    if s.enable || removeAttrs set [ "enable" ] != { } then set // command else null;

  # The attribute set written as the JSON config. Unset (null) options are left out.
  render =
    prefix: cfg:
    let
      typed = section {
        local_only = cfg.localOnlyMode;
        ollama_host = cfg.ollamaHost;
        models = section {
          default_research = cfg.defaultResearchModel;
          default_coding = cfg.defaultCodingModel;
          default_fast = cfg.defaultFastModel;
          local_research = cfg.localResearchModel;
          local_coding = cfg.localCodingModel;
        };
        agentsmd = section {
          # a string stays as it is (a live checkout); a Nix path becomes its store copy
          source = if cfg.agentsmd.source == null then null else "${cfg.agentsmd.source}";
          home_agents_md = cfg.agentsmd.homeAgentsMd;
        };
        clients = section cfg.clients;
        secrets = section {
          backend = cfg.secretsBackend;
          inherit (cfg.secrets) keychain command file;
        };
        # programs.mcp's servers (home-manager, nix/compose.nix) join the registry
        mcp = section { servers = section (cfg.mcpServers // cfg.importedMcpServers or { }); };
        plugins = section {
          marketplaces = section cfg.marketplaces;
          enabled = if cfg.plugins == [ ] then null else cfg.plugins;
        };
        services = section (
          mapAttrs' (name: svc: nameValuePair svc.key (renderService svc cfg.services.${name})) services
        );
        # files Nix writes, which apply leaves alone (home-manager, nix/compose.nix)
        apply = section {
          nix_managed = if (cfg.nixManaged or [ ]) == [ ] then null else cfg.nixManaged;
        };
      };
    in
    stripNulls (
      { enable = true; } // mergeStrict prefix [ ] (if typed == null then { } else typed) cfg.settings
    );

  # --- activation ------------------------------------------------------------------------------

  # PATH for `aiorch apply` and the services: the packages of this generation first (so that
  # `clients.* = "auto"` finds the AI CLIs installed with Nix), then the usual user locations.
  searchPath =
    {
      cfg,
      home,
      user,
      profileBins,
      isDarwin,
    }:
    concatStringsSep ":" (
      map (p: "${p}/bin") cfg.extraPackages
      ++ profileBins
      ++ [
        "${home}/.local/bin"
        "/etc/profiles/per-user/${user}/bin"
        "/run/current-system/sw/bin"
        "/nix/var/nix/profiles/default/bin"
      ]
      ++ lib.optionals isDarwin [ "/opt/homebrew/bin" ]
      ++ [
        "/usr/local/bin"
        "/usr/bin"
        "/bin"
        "/usr/sbin"
        "/sbin"
      ]
    );

  # Bash for the activation: runs `aiorch apply` with the rendered config. Idempotent (apply
  # is); `DRY_RUN` set: `apply --dry-run` (shows the plan, writes nothing); `VERBOSE` set: `-v`.
  # It only ever runs `aiorch apply`: no `claude plugin …`, nothing under
  # ~/.claude/plugins/cache. `runAs`: run it as that user (nix-darwin activates as root).
  # `environment`: variables set for it (`applyEnvironment`).
  # Codex's home as home-manager's programs.codex decides it (release-25.11 and master alike):
  # `xdg.configHome`/codex with home.preferXdgDirectories and a TOML-era Codex (a null package
  # counts as one), where the module also sets the session variable CODEX_HOME; else ~/.codex.
  # `hm` is a home-manager configuration (`config` of the home-manager module or of
  # home-manager.users.<name>). A path under the home is given as `~/…` (apply.nix_managed).
  codexXdg =
    hm:
    let
      pkg = hm.programs.codex.package or null;
    in
    (hm.programs.codex.enable or false)
    && (hm.home.preferXdgDirectories or false)
    && (pkg == null || lib.versionAtLeast (lib.getVersion pkg) "0.2.0");
  codexDir =
    hm:
    let
      home = hm.home.homeDirectory;
      dir = "${hm.xdg.configHome}/codex";
    in
    if !codexXdg hm then
      "~/.codex"
    else if lib.hasPrefix "${home}/" dir then
      "~/" + lib.removePrefix "${home}/" dir
    else
      dir;

  # The environment `aiorch apply` needs from a home-manager configuration's session variables
  # (which the activation does not see): CODEX_HOME, so aiorch writes Codex's files where Codex
  # reads them (programs.codex sets it with home.preferXdgDirectories). Exported the way
  # home-manager's hm-session-vars.sh does (`export NAME="value"`).
  applyEnvironment =
    hm:
    lib.optionalAttrs ((hm.home.sessionVariables or { }) ? CODEX_HOME) {
      CODEX_HOME = toString hm.home.sessionVariables.CODEX_HOME;
    };

  applyScript =
    {
      cfg,
      path,
      runAs ? null,
      environment ? { },
    }:
    let
      user = lib.escapeShellArg runAs;
      prefix =
        if runAs == null then
          ""
        else
          ''launchctl asuser "$(id -u -- ${user})" sudo --user=${user} --set-home -- '';
    in
    ''
      aiorchArgs=(--config ${lib.escapeShellArg "${cfg.configFile}"})
      if [[ -v VERBOSE ]]; then aiorchArgs+=(-v); fi
      if [[ -v DRY_RUN ]]; then aiorchArgs+=(apply --dry-run); else aiorchArgs+=(apply); fi
      if ${prefix}env PATH="${path}:$PATH"${
        lib.concatStrings (lib.mapAttrsToList (n: v: " ${n}=\"${v}\"") environment)
      } ${lib.escapeShellArg (lib.getExe cfg.package)} "''${aiorchArgs[@]}"; then
        :
      else
        aiorchStatus=$?
        echo "aiorch: 'aiorch apply' failed with exit code $aiorchStatus (see above; 'aiorch doctor' explains more)" >&2
        ${
          if cfg.activation.failOnError then
            "exit $aiorchStatus"
          else
            ": # activation.failOnError is off: go on"
        }
      fi
      unset aiorchArgs aiorchStatus
    '';

  # --- services --------------------------------------------------------------------------------

  # One entry per enabled service: what both the launchd agents and the systemd units run.
  serviceUnits =
    { cfg, path }:
    mapAttrs' (
      name: svc:
      nameValuePair svc.unit {
        inherit (svc) key description;
        # systemd ordering: the gateway starts after the Redis that holds its budget state
        after = lib.optional (name == "litellm" && cfg.services.redis.enable) "${services.redis.unit}.service";
        argv = [
          (lib.getExe cfg.package)
          "--config"
          "${cfg.configFile}"
          "service"
          "run"
          svc.key
        ];
        environment = {
          PATH = path;
          AIORCH_CONFIG = "${cfg.configFile}";
        }
        // cfg.serviceEnvironment;
      }
    ) (filterAttrs (name: _: cfg.services.${name}.enable) services);

  # launchd.plist keys of a service (home-manager `launchd.agents.<n>.config` and nix-darwin
  # `launchd.user.agents.<n>.serviceConfig` take the same keys).
  launchdConfig = home: unit: u: {
    ProgramArguments = u.argv;
    EnvironmentVariables = u.environment;
    RunAtLoad = true;
    KeepAlive = {
      Crashed = true;
      SuccessfulExit = false;
    };
    ProcessType = "Background";
    StandardOutPath = "${home}/Library/Logs/${unit}.log";
    StandardErrorPath = "${home}/Library/Logs/${unit}.log";
  };

  # systemd user unit of a service (home-manager `systemd.user.services.<n>`)
  systemdUnit = u: {
    Unit = {
      Description = "aiorch: ${u.description}";
      After = [ "network.target" ] ++ u.after;
      Wants = u.after;
    };
    Service = {
      ExecStart = lib.escapeShellArgs u.argv;
      Environment = lib.mapAttrsToList (n: v: "${n}=${v}") u.environment;
      Restart = "on-failure";
      RestartSec = 5;
    };
    Install.WantedBy = [ "default.target" ];
  };

  # The options both modules declare (under programs.aiorch / services.aiorch). `cfg` is the
  # module's own config (for the read-only results), `prefix` its option path (for messages).
  mkOptions =
    { cfg, prefix }:
    {
      enable = mkEnableOption "aiorch: one config for every AI coding assistant, applied on activation";

      package = mkOption {
        type = types.package;
        default = pkgs.aiorch or (pkgs.callPackage ./package.nix { });
        defaultText = literalExpression "pkgs.aiorch or (pkgs.callPackage <aiorch>/nix/package.nix { })";
        description = "The aiorch package: the flake's overlay when applied, else built from this flake with your pkgs.";
      };

      localOnlyMode = nullOr types.bool "`local_only`: route every model alias to local models only." { };
      defaultResearchModel =
        nullOr types.str "`models.default_research`: the model behind `research-model`."
          { example = "gemini/gemini-3.1-pro-preview"; };
      defaultCodingModel = nullOr types.str "`models.default_coding`: the model behind `coding-model`." {
        example = "anthropic/claude-sonnet-4-6";
      };
      defaultFastModel = nullOr types.str "`models.default_fast`: the model behind `fast-model`." {
        example = "openai/gpt-5-mini";
      };
      localResearchModel =
        nullOr types.str "`models.local_research`: the model behind `local-research`."
          { example = "ollama/qwen3:8b"; };
      localCodingModel = nullOr types.str "`models.local_coding`: the model behind `local-coding`." {
        example = "ollama/qwen2.5-coder:7b";
      };
      secretsBackend = nullOr (types.enum [
        "keychain"
        "command"
        "file"
        "env"
      ]) "`secrets.backend`: where secrets are read from at exec time." { example = "keychain"; };
      ollamaHost = nullOr types.str "`ollama_host`: URL of the Ollama API." {
        example = "http://localhost:11434";
      };

      agentsmd = {
        source = nullOr (types.either types.str types.path) ''
          `agentsmd.source`: a live agentsmd/ checkout to link instead of the tree built into
          aiorch. Give a string (for example `"''${config.home.homeDirectory}/src/agentsmd"`) to
          link the checkout itself, so edits show up without re-applying; a Nix path is used as
          the store copy Nix makes of it.
        '' { example = "/Users/me/src/agentsmd"; };
        homeAgentsMd = nullOr types.bool "`agentsmd.home_agents_md`: also link ~/AGENTS.md." { };
      };

      clients = lib.genAttrs clientNames (
        client:
        nullOr (types.enum [
          "auto"
          "always"
          "never"
        ]) "`clients.${client}`: configure ${client} when it is on PATH (`auto`), always, or never." { }
      );

      secrets = {
        keychain = nullOr types.str "`secrets.keychain`: the macOS keychain to read." {
          example = "ai-secrets";
        };
        command =
          nullOr (types.listOf types.str)
            "`secrets.command`: command printing a secret; `{name}` is replaced by its name."
            {
              example = [
                "pass"
                "show"
                "ai/{name}"
              ];
            };
        file = nullOr types.str "`secrets.file`: env file holding the secrets." {
          example = "~/.config/aiorch/secrets.env";
        };
      };

      mcpServers = mkOption {
        type = types.attrsOf (types.attrsOf jsonValue);
        default = { };
        example = literalExpression ''
          {
            filesystem = {
              command = "npx";
              args = [ "-y" "@modelcontextprotocol/server-filesystem" "/tmp" ];
            };
          }
        '';
        description = "`mcp.servers`: the MCP server registry, translated for every client (passed as it is).";
      };

      marketplaces = mkOption {
        type = types.attrsOf (types.attrsOf jsonValue);
        default = { };
        example = literalExpression ''
          { anthropic-agent-skills.source = { source = "github"; repo = "anthropics/skills"; }; }
        '';
        description = "`plugins.marketplaces`: Claude plugin marketplaces (passed as they are).";
      };

      plugins = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "document-skills@anthropic-agent-skills" ];
        description = "`plugins.enabled`: Claude plugins to enable, as `plugin@marketplace`.";
      };

      services = mapAttrs serviceOption services;

      settings = mkOption {
        type = types.attrsOf jsonValue;
        default = { };
        example = literalExpression ''
          {
            clients.copilot = "never";
            runtime.max_parallel = 4;
            policy = { };
          }
        '';
        description = ''
          Everything else of the config (`runtime`, `policy`, …), in the schema of
          docs/config-contract.md. Merged with what the typed options above set: a key set both
          here and by a typed option must have the same value. `null` values are left out.
        '';
      };

      extraPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
        example = literalExpression "[ pkgs.ollama ]";
        description = ''
          Packages whose {file}`bin` is put first on the PATH of `aiorch apply` (activation)
          and of the services (for example the model server or LiteLLM). They are not installed
          into the profile.
        '';
      };

      serviceEnvironment = mkOption {
        type = types.attrsOf types.str;
        default = { };
        example = {
          LITELLM_LOG = "ERROR";
        };
        description = ''
          Environment of every service. Never put secrets here (they would land in the Nix
          store): aiorch reads them from the secrets backend when a service starts.
        '';
      };

      activation = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "Run `aiorch apply --config <the rendered config>` on activation.";
        };
        failOnError = mkOption {
          type = types.bool;
          default = false;
          description = ''
            Stop the activation when `aiorch apply` fails. By default the failure is reported
            and the rest of the activation goes on (aiorch changes nothing when its input is bad).
          '';
        };
      };

      finalSettings = mkOption {
        type = types.attrsOf jsonValue;
        readOnly = true;
        internal = true;
        default = render prefix cfg;
        defaultText = literalExpression "the rendered config";
        description = "The config as an attribute set, exactly as written to `configFile`.";
      };

      configFile = mkOption {
        type = types.package;
        readOnly = true;
        default = pkgs.writeText "aiorch.json" (builtins.toJSON cfg.finalSettings);
        defaultText = literalExpression "a JSON file in the Nix store";
        description = "The rendered JSON config that activation passes to `aiorch apply --config`.";
      };
    };
in
{
  inherit
    jsonValue
    services
    render
    searchPath
    codexXdg
    codexDir
    applyEnvironment
    applyScript
    serviceUnits
    launchdConfig
    systemdUnit
    mkOptions
    ;
  # the options a nix-darwin config forwards to home-manager (all but the results)
  forwardedOptions = [
    "package"
    "localOnlyMode"
    "defaultResearchModel"
    "defaultCodingModel"
    "defaultFastModel"
    "localResearchModel"
    "localCodingModel"
    "secretsBackend"
    "ollamaHost"
    "agentsmd"
    "clients"
    "secrets"
    "mcpServers"
    "marketplaces"
    "plugins"
    "services"
    "settings"
    "extraPackages"
    "serviceEnvironment"
    "activation"
  ];
}
