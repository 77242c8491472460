# The flake's checks for one system.
#
# Every module check is evaluation-only: it asserts over option values, the rendered JSON,
# the launchd agents / systemd units and the activation text, and ends in a `writeText` of a
# context-free summary. A failed assertion stops evaluation with a list of what failed, so
# `nix flake check --no-build` is meaningful offline (with the stub nixpkgs of
# shared/tools/nix) and the checks build in milliseconds with the real nixpkgs.
#
# On every system both platforms are evaluated: the home-manager module for Linux and for
# macOS, the nix-darwin module for macOS (aarch64-darwin on Linux hosts). `package`,
# `formatting` and `hm-activation` are real builds for the host system; `darwin-toplevel`
# only exists on darwin systems.
{
  self,
  nixpkgs,
  home-manager,
  nix-darwin,
  system,
}:
let
  inherit (nixpkgs) lib;
  inherit (builtins) toJSON unsafeDiscardStringContext;
  pkgs = nixpkgs.legacyPackages.${system};
  arch = lib.head (lib.splitString "-" system);
  hostIsDarwin = lib.hasSuffix "-darwin" system;
  linuxSystem = if hostIsDarwin then "${arch}-linux" else system;
  darwinSystem = if hostIsDarwin then system else "aarch64-darwin";

  hmFixture = lib.importJSON ./fixtures/hm-config.json;
  darwinFixture = lib.importJSON ./fixtures/darwin-config.json;
  composeFixture = lib.importJSON ./fixtures/compose-config.json;
  composeClaudeFixture = lib.importJSON ./fixtures/compose-claude.json;

  # Store paths as `/nix/store/…/bin/x`: the fixtures hold on any nixpkgs (the stub's paths
  # differ from the real ones). nix/tests/update-fixtures.sh writes them the same way.
  unstore =
    v:
    if lib.isDerivation v then
      v
    else if lib.isAttrs v then
      lib.mapAttrs (_: unstore) v
    else if lib.isList v then
      map unstore v
    else if lib.isString v then
      let
        m = builtins.match "${builtins.storeDir}/[^/]+(/.*)?" (unsafeDiscardStringContext v);
      in
      if m == null then v else "${builtins.storeDir}/…" + (if lib.head m == null then "" else lib.head m)
    else
      v;

  # --- assertion helpers -------------------------------------------------------------------
  expect = what: ok: { inherit what ok; };
  expectEq = what: actual: expected: {
    what = "${what}:\n      differs at ${
      lib.concatStringsSep ", " (diffPaths [ ] actual expected)
    }\n      expected ${toJSON expected}\n      got      ${toJSON actual}";
    ok = actual == expected;
  };
  # where two values differ, as dotted paths (for the failure messages)
  diffPaths =
    path: a: b:
    if a == b then
      [ ]
    else if lib.isAttrs a && lib.isAttrs b && !lib.isDerivation a && !lib.isDerivation b then
      lib.concatMap (n: diffPaths (path ++ [ n ]) (a.${n} or null) (b.${n} or null)) (
        lib.unique (lib.attrNames a ++ lib.attrNames b)
      )
    else
      [ (if path == [ ] then "<top>" else lib.concatStringsSep "." path) ];
  # a check: the summary as a file when every expectation holds, else an evaluation error
  mkCheck =
    name: expectations: summary:
    let
      failed = lib.filter (e: !e.ok) expectations;
    in
    if failed == [ ] then
      pkgs.writeText "aiorch-check-${name}" (unsafeDiscardStringContext (toJSON summary))
    else
      throw (
        "aiorch check ${name}: ${toString (lib.length failed)} of ${toString (lib.length expectations)} expectations failed:\n"
        + lib.concatMapStrings (e: "  - ${e.what}\n") failed
      );
  # substring test that also takes strings with store paths in them
  has =
    needle: haystack:
    lib.hasInfix (unsafeDiscardStringContext needle) (unsafeDiscardStringContext haystack);
  nonNull = lib.filterAttrs (_: v: v != null);
  # does evaluating (deeply) `value` fail?
  fails = value: !(builtins.tryEval (builtins.deepSeq value value)).success;

  # --- evaluations ---------------------------------------------------------------------------
  hmEval =
    evalSystem: modules:
    let
      isDarwin = lib.hasSuffix "-darwin" evalSystem;
    in
    home-manager.lib.homeManagerConfiguration {
      pkgs = nixpkgs.legacyPackages.${evalSystem};
      modules = [
        self.homeManagerModules.default
        {
          home.username = "alice";
          home.homeDirectory = if isDarwin then "/Users/alice" else "/home/alice";
          home.stateVersion = "25.11";
          home.enableNixpkgsReleaseCheck = false;
          manual.manpages.enable = false;
          manual.html.enable = false;
          manual.json.enable = false;
          news.display = "silent";
        }
      ]
      ++ modules;
    };

  darwinEval =
    modules:
    nix-darwin.lib.darwinSystem {
      enableNixpkgsReleaseCheck = false;
      modules = [
        self.darwinModules.default
        {
          nixpkgs.hostPlatform = darwinSystem;
          system.stateVersion = 6;
          system.primaryUser = "alice";
          documentation.enable = false;
        }
      ]
      ++ modules;
    };

  hmLinux = hmEval linuxSystem [ ./hm-test.nix ];
  hmDarwin = hmEval darwinSystem [ ./hm-test.nix ];
  darwin = darwinEval [ ./darwin-test.nix ];
  # nix-darwin + home-manager's nix-darwin module, the per-user part handed to home-manager
  darwinHm = darwinEval [
    home-manager.darwinModules.home-manager
    ./darwin-test.nix
    {
      services.aiorch.homeManager.enable = true;
      users.users.alice.home = "/Users/alice";
      home-manager.useGlobalPkgs = true;
      home-manager.users.alice = {
        home.stateVersion = "25.11";
        home.enableNixpkgsReleaseCheck = false;
        manual.manpages.enable = false;
      };
    }
  ];

  # both nix-darwin's services.aiorch and the user's programs.aiorch, without handing over
  darwinBoth = darwinEval [
    home-manager.darwinModules.home-manager
    ./darwin-test.nix
    {
      users.users.alice.home = "/Users/alice";
      home-manager.useGlobalPkgs = true;
      home-manager.users.alice = {
        imports = [ self.homeManagerModules.default ];
        programs.aiorch.enable = true;
        home.stateVersion = "25.11";
        home.enableNixpkgsReleaseCheck = false;
        manual.manpages.enable = false;
      };
    }
  ];
  # nix-darwin applies, home-manager's programs.claude-code writes ~/.claude/settings.json; and
  # the same with the per-user part handed to home-manager (composed)
  darwinClaude =
    extra:
    darwinEval [
      home-manager.darwinModules.home-manager
      ./darwin-test.nix
      extra
      {
        users.users.alice.home = "/Users/alice";
        home-manager.useGlobalPkgs = true;
        home-manager.users.alice = {
          programs.claude-code = {
            enable = true;
            package = null;
            settings.theme = "dark";
          };
          home.stateVersion = "25.11";
          home.enableNixpkgsReleaseCheck = false;
          manual.manpages.enable = false;
        };
      }
    ];
  darwinClaudeApplies = darwinClaude { };
  darwinClaudeHanded = darwinClaude { services.aiorch.homeManager.enable = true; };
  # … with programs.codex and programs.aider-chat settings too
  darwinClientsUser = {
    home-manager.users.alice.programs = {
      codex = {
        enable = true;
        package = null;
        settings.model = "o4-mini";
      };
      aider-chat = {
        enable = true;
        package = null;
        settings.dark-mode = true;
      };
    };
  };
  # OpenCode (master) with no settings but its programs.mcp integration: opencode.json is a store link
  darwinOpencodeIntegration = darwinClaude {
    home-manager.users.alice.programs = {
      mcp = {
        enable = true;
        servers.github.command = "github-mcp-server";
      };
      opencode = {
        enable = true;
        package = null;
        enableMcpIntegration = true;
      };
    };
  };
  darwinClientsApplies = darwinClaude darwinClientsUser;
  # … and files of the user's own where aiorch writes (instructions, a command), one it does not
  darwinOwnFiles = darwinClaude {
    home-manager.users.alice = {
      home.file.".claude/CLAUDE.md".text = "mine";
      home.file.".claude/agents/reviewer.md".text = "not a path of aiorch's";
      xdg.configFile."opencode/commands/deploy.md".text = "Deploy.";
    };
  };
  # … with home.preferXdgDirectories: Codex's home is ~/.config/codex (CODEX_HOME)
  darwinCodexXdg = darwinClaude (
    lib.recursiveUpdate darwinClientsUser { home-manager.users.alice.home.preferXdgDirectories = true; }
  );
  darwinClientsHanded = darwinClaude (
    lib.recursiveUpdate darwinClientsUser { services.aiorch.homeManager.enable = true; }
  );
  # handing over to home-manager without home-manager's nix-darwin module
  darwinNoHm = darwinEval [
    ./darwin-test.nix
    { services.aiorch.homeManager.enable = true; }
  ];

  # --- what the home-manager module must produce ----------------------------------------------
  hmExpectations =
    platform: hm:
    let
      c = hm.config;
      a = c.programs.aiorch;
      isDarwin = platform == "darwin";
      exe = lib.getExe a.package;
      configPath = "${a.configFile}";
      entry = c.home.activation.aiorch;
      order = map (e: e.name) (home-manager.lib.hm.dag.topoSort c.home.activation).result;
      pos = name: lib.lists.findFirstIndex (n: n == name) (-1) order;
      argv = svc: [
        exe
        "--config"
        configPath
        "service"
        "run"
        svc
      ];
      ours = lib.filterAttrs (n: _: lib.hasPrefix "aiorch" n);
    in
    [
      (expect "the package is installed" (lib.elem a.package c.home.packages))
      (expectEq "AIORCH_CONFIG points at the rendered config" c.home.sessionVariables.AIORCH_CONFIG
        configPath
      )
      (expect "activation runs after writeBoundary" (
        pos "writeBoundary" >= 0 && pos "writeBoundary" < pos "aiorch"
      ))
      (expect "activation runs after linkGeneration" (
        pos "linkGeneration" >= 0 && pos "linkGeneration" < pos "aiorch"
      ))
      (expect "activation runs `aiorch --config <rendered> apply`" (
        has "--config ${lib.escapeShellArg configPath}" entry.data
        && has (lib.escapeShellArg exe) entry.data
        && has "aiorchArgs+=(apply)" entry.data
      ))
      (expect "activation honours DRY_RUN with apply --dry-run" (
        has "[[ -v DRY_RUN ]]" entry.data && has "apply --dry-run" entry.data
      ))
      (expect "activation honours VERBOSE" (has "[[ -v VERBOSE ]]" entry.data))
      (expect "activation puts this generation's packages on PATH" (has "${c.home.path}/bin" entry.data))
      (expect "activation never touches Claude's plugin cache" (
        !(has "plugin" entry.data) && !(has "cache" entry.data)
      ))
      (expect "a failed apply does not stop the activation by default" (
        !(has "exit $aiorchStatus" entry.data)
      ))
    ]
    ++ (
      if isDarwin then
        let
          agents = ours c.launchd.agents;
          litellm = agents.aiorch-litellm.config;
        in
        [
          (expectEq "launchd agents of the enabled services" (lib.attrNames agents) [
            "aiorch-litellm"
            "aiorch-local-model"
            "aiorch-redis"
          ])
          (expectEq "redis agent runs `aiorch service run redis`" agents.aiorch-redis.config.ProgramArguments (
            argv "redis"
          ))
          (expectEq "litellm agent runs `aiorch service run litellm`" litellm.ProgramArguments (
            argv "litellm"
          ))
          (expectEq "local model agent runs `aiorch service run local_model`"
            agents.aiorch-local-model.config.ProgramArguments
            (argv "local_model")
          )
          (expect "agents are enabled" (lib.all (a: a.enable) (lib.attrValues agents)))
          (expectEq "agents restart after a crash" (nonNull litellm.KeepAlive) {
            Crashed = true;
            SuccessfulExit = false;
          })
          (expectEq "agents get serviceEnvironment and the config"
            (removeAttrs litellm.EnvironmentVariables [ "PATH" ])
            {
              AIORCH_CONFIG = configPath;
              LITELLM_LOG = "ERROR";
            }
          )
          (expectEq "agents log to ~/Library/Logs" litellm.StandardOutPath
            "/Users/alice/Library/Logs/aiorch-litellm.log"
          )
          (expectEq "no systemd units on macOS" (ours c.systemd.user.services) { })
        ]
      else
        let
          units = ours c.systemd.user.services;
          litellm = units.aiorch-litellm;
        in
        [
          (expectEq "systemd user units of the enabled services" (lib.attrNames units) [
            "aiorch-litellm"
            "aiorch-local-model"
            "aiorch-redis"
          ])
          (expectEq "redis unit runs `aiorch service run redis`" (lib.toList units.aiorch-redis.Service.ExecStart) [
            (lib.escapeShellArgs (argv "redis"))
          ])
          (expectEq "the gateway starts after its Redis" litellm.Unit.After [
            "network.target"
            "aiorch-redis.service"
          ])
          (expectEq "the local model unit has no extra ordering" units.aiorch-local-model.Unit.After [
            "network.target"
          ])
          (expectEq "litellm unit runs `aiorch service run litellm`" (lib.toList litellm.Service.ExecStart) [
            (lib.escapeShellArgs (argv "litellm"))
          ])
          (expectEq "local model unit runs `aiorch service run local_model`"
            (lib.toList units.aiorch-local-model.Service.ExecStart)
            [ (lib.escapeShellArgs (argv "local_model")) ]
          )
          (expect "units get serviceEnvironment and the config" (
            lib.elem "AIORCH_CONFIG=${configPath}" litellm.Service.Environment
            && lib.elem "LITELLM_LOG=ERROR" litellm.Service.Environment
          ))
          (expectEq "units start with the user session" litellm.Install.WantedBy [ "default.target" ])
          (expectEq "units restart on failure" litellm.Service.Restart "on-failure")
          (expectEq "no launchd agents on Linux" (ours c.launchd.agents) { })
        ]
    );

  hmSummary = hm: {
    config = hm.config.programs.aiorch.finalSettings;
    activation = hm.config.home.activation.aiorch.data;
    launchd = lib.mapAttrs (_: a: a.config) hm.config.launchd.agents;
    systemd = hm.config.systemd.user.services;
  };

  # --- option behaviour (home-manager module, host-independent) -------------------------------
  minimal = hmEval linuxSystem [ { programs.aiorch.enable = true; } ];
  conflict = hmEval linuxSystem [
    {
      programs.aiorch = {
        enable = true;
        defaultFastModel = "openai/gpt-5-mini";
        settings.models.default_fast = "other/model";
      };
    }
  ];
  agree = hmEval linuxSystem [
    {
      programs.aiorch = {
        enable = true;
        defaultFastModel = "openai/gpt-5-mini";
        settings.models.default_fast = "openai/gpt-5-mini";
        settings.enable = false;
        settings.runtime.max_parallel = 4;
        settings.policy.ask = null;
        agentsmd.source = "/srv/agentsmd";
        secrets.command = [
          "pass"
          "show"
          "ai/{name}"
        ];
        activation.failOnError = true;
      };
    }
  ];
  disabled = hmEval linuxSystem [ { programs.aiorch.settings.enable = true; } ];
  pathSource = hmEval linuxSystem [
    {
      programs.aiorch = {
        enable = true;
        agentsmd.source = ./fixtures;
      };
    }
  ];

  optionExpectations = [
    (expectEq "an enabled module with no options renders only enable"
      minimal.config.programs.aiorch.finalSettings
      {
        enable = true;
      }
    )
    (expectEq "no services, no units" (lib.attrNames (
      lib.filterAttrs (n: _: lib.hasPrefix "aiorch" n) minimal.config.systemd.user.services
    )) [ ])
    (expect "a settings key conflicting with a typed option is an evaluation error" (
      fails conflict.config.programs.aiorch.finalSettings
    ))
    (expectEq "settings merge with typed options, may override enable, and lose their nulls"
      agree.config.programs.aiorch.finalSettings
      {
        enable = false;
        models.default_fast = "openai/gpt-5-mini";
        runtime.max_parallel = 4;
        policy = { };
        agentsmd.source = "/srv/agentsmd";
        secrets.command = [
          "pass"
          "show"
          "ai/{name}"
        ];
      }
    )
    (expect "failOnError makes a failed apply stop the activation" (
      has "exit $aiorchStatus" agree.config.home.activation.aiorch.data
    ))
    (expect "agentsmd.source given as a Nix path renders as its store copy" (
      lib.hasPrefix "${builtins.storeDir}/" pathSource.config.programs.aiorch.finalSettings.agentsmd.source
    ))
    (expect "a disabled module adds no activation" (!(disabled.config.home.activation ? aiorch)))
    (expect "a disabled module installs nothing" (
      !(lib.any (p: (p.pname or "") == "aiorch") disabled.config.home.packages)
    ))
  ];

  # --- home-manager's client modules beside programs.aiorch --------------------------------------
  composeLinux = hmEval linuxSystem [ ./compose-test.nix ];
  composeDarwin = hmEval darwinSystem [ ./compose-test.nix ];
  composeOff = hmEval linuxSystem [
    ./compose-test.nix
    { programs.aiorch.compose.enable = false; }
  ];
  # a name in both programs.mcp.servers and programs.aiorch.mcpServers
  composeClash = hmEval linuxSystem [
    ./compose-test.nix
    { programs.mcp.servers.filesystem.command = "my-filesystem-server"; }
  ];
  # the user's own CLAUDE.md (memory in 25.11, context in master) and a command named as one of
  # aiorch's
  composeClaudeFiles = hmEval linuxSystem [
    ./compose-test.nix
    (
      { options, ... }:
      {
        programs.claude-code = {
          commands.review = "my review";
        }
        // (
          if options.programs.claude-code ? context then
            { context = "be brief"; }
          else
            { memory.text = "be brief"; }
        );
      }
    )
  ];
  # (mcpServers needs a package, on master a recent one: its servers reach Claude through a wrapper)
  composeClaudeMcp = hmEval linuxSystem [
    ./compose-test.nix
    (
      { pkgs, ... }:
      {
        programs.claude-code.package = lib.mkForce (pkgs.claude-code // { version = "2.1.76"; });
        programs.claude-code.mcpServers.filesystem = {
          type = "stdio";
          command = "my-fs";
        };
      }
    )
  ];
  # home-manager master: Claude gets programs.mcp itself, so aiorch must not register it again
  hasMcpIntegration = composeLinux.options.programs.claude-code ? enableMcpIntegration;
  composeIntegrated = hmEval linuxSystem [
    ./compose-test.nix
    { programs.claude-code.enableMcpIntegration = true; }
  ];

  ourWarnings = c: lib.filter (lib.hasPrefix "programs.aiorch:") c.warnings;

  # programs.codex, programs.gemini-cli (antigravity-cli on master) and programs.opencode too
  composeClientsLinux = hmEval linuxSystem [ ./compose-clients-test.nix ];
  composeClientsDarwin = hmEval darwinSystem [ ./compose-clients-test.nix ];
  composeClientsFixture = lib.importJSON ./fixtures/compose-clients-config.json;
  clientFixtures = lib.genAttrs [ "codex" "gemini" "opencode" "aider" ] (
    c: lib.importJSON (./fixtures + "/compose-${c}.json")
  );
  # the user's instructions in the client modules: text for Codex and Gemini, a file for OpenCode
  composeClientsInstructions = hmEval linuxSystem [ ./compose-instructions-test.nix ];
  instructionsFixture = lib.importJSON ./fixtures/compose-instructions.json;
  commandsFixture = lib.importJSON ./fixtures/compose-commands.json;
  composeClientsCommands = hmEval linuxSystem [
    ./compose-clients-test.nix
    {
      programs.gemini-cli.commands.plan = {
        prompt = "my plan";
        description = "mine";
      };
      programs.opencode.commands.review = "my review";
    }
  ];
  # OpenCode without settings of the user's, but its programs.mcp integration writes the file
  composeOpencodeIntegration = hmEval linuxSystem [
    ./compose-test.nix
    {
      programs.aiorch.clients.opencode = "always";
      programs.opencode = {
        enable = true;
        package = null;
        enableMcpIntegration = true;
      };
    }
  ];
  composeOpencodePermission = hmEval linuxSystem [
    ./compose-clients-test.nix
    { programs.opencode.settings.permission.bash = "ask"; }
  ];
  # home.preferXdgDirectories: programs.codex writes ~/.config/codex and sets CODEX_HOME
  composeCodexXdg = hmEval linuxSystem [
    ./compose-clients-test.nix
    (
      { options, ... }:
      {
        home.preferXdgDirectories = true;
        programs.codex =
          if options.programs.codex ? context then
            { context = "be brief"; }
          else
            { custom-instructions = "be brief"; };
      }
    )
  ];
  # Codex enabled without settings: config.toml stays aiorch's to merge into (not a store link)
  composeCodexPlain = hmEval linuxSystem [
    ./compose-clients-test.nix
    { programs.codex.settings = lib.mkForce { }; }
  ];

  composeClientsExpectations =
    platform: hm:
    let
      c = hm.config;
      fin = c.programs.aiorch.finalSettings;
      frags = c.programs.aiorch.clientSettingsFragments;
      gm = if hm.options.programs ? antigravity-cli then "antigravity-cli" else "gemini-cli";
      codex = c.programs.codex.settings;
      gemini = c.programs.${gm}.settings;
      opencode = c.programs.opencode.settings;
      opencodeOurs = hm.options.programs.opencode ? tui;
      w = ourWarnings c;
      files = lib.attrNames c.home.file ++ map (n: ".config/${n}") (lib.attrNames c.xdg.configFile);
    in
    map (e: e // { what = "${platform}: ${e.what}"; }) (
      [
        (expectEq "what each module gets is the fixture the binary's render is held to (home as on Linux)"
          (builtins.fromJSON (
            builtins.replaceStrings [ c.home.homeDirectory ] [ "/home/alice" ] (
              toJSON (lib.mapAttrs (_: unstore) frags)
            )
          ))
          clientFixtures
        )
        (expect "programs.codex.settings has aiorch's servers beside the user's values" (
          lib.all (n: codex.mcp_servers ? ${n}) [ "aiorch" "filesystem" "docs" "tracker" "notes" ]
          && codex.model == "o4-mini"
        ))
        (expect "gateway.route_clients with codex: aiorch's gateway is Codex's provider; the user's model wins, with a warning" (
          codex.model_providers.aiorch.wire_api == "responses"
          && codex.model_provider == "aiorch"
          && codex.model == "o4-mini"
          && lib.any (has "programs.codex.settings.model is \"o4-mini\", which overrides aiorch's \"coding-model\"") w
        ))
        (expectEq "a server the user defines in programs.codex.settings stays theirs" codex.mcp_servers.github {
          command = "my-github-mcp";
        })
        (expect "… and a warning names it" (
          lib.any (has "programs.codex.settings.mcp_servers.github is your own server") w
        ))
        (expect "programs.${gm}.settings has aiorch's servers, the user's theme" (
          gemini.mcpServers ? filesystem && gemini.mcpServers ? aiorch && gemini.theme == "Default"
        ))
        (expect "context.fileName is the union of the user's names and aiorch's" (
          lib.all (n: lib.elem n gemini.context.fileName) [ "CONTEXT.md" "AGENTS.md" "GEMINI.md" ]
        ))
        (expectEq "the rendered config lists the composed files as Nix's" fin.apply.nix_managed (
          [
            {
              path = "~/.claude/settings.json";
              by = "programs.claude-code";
            }
            {
              path = "~/.codex/config.toml";
              by = "programs.codex";
            }
            {
              path = "~/.gemini/settings.json";
              by = "programs.${gm}";
            }
          ]
          ++ lib.optional opencodeOurs {
            path = "~/.config/opencode/opencode.json";
            by = "programs.opencode";
          }
          ++ [
            {
              path = "~/.aider.conf.yml";
              by = "programs.aider-chat";
            }
          ]
        ))
        (expect "programs.aider-chat.settings: aiorch's instructions join the user's `read`" (
          lib.elem "CONVENTIONS.md" c.programs.aider-chat.settings.read
          && lib.elem "${c.xdg.stateHome}/aiorch/generated/instructions/AGENTS.md" c.programs.aider-chat.settings.read
          && lib.elem {
            path = "~/.aider.conf.yml";
            by = "programs.aider-chat";
          } fin.apply.nix_managed
          && lib.any (has "programs.aider-chat.settings makes ~/.aider.conf.yml Nix's") w
        ))
        (expect "home-manager writes those files (store links)" (
          lib.all (f: lib.any (lib.hasSuffix f) files) [
            ".codex/config.toml"
            ".gemini/settings.json"
          ]
        ))
      ]
      ++ (
        if opencodeOurs then
          [
            (expect "programs.opencode.settings (opencode.json) has aiorch's servers beside the user's value" (
              opencode.mcp ? filesystem && opencode.mcp.filesystem.type == "local" && opencode.autoupdate == false
            ))
            (expect "… and aiorch's permission policy, in order: the posture first, deny after ask after allow" (
              let
                bash = opencode.permission.bash;
              in
              bash."*" == "deny"
              && bash."git push *".data == "ask"
              && lib.elem "git status *" bash."git push *".after
              && bash."git push --force *".data == "deny"
              && lib.elem "git push *" bash."git push --force *".after
              && opencode.permission.webfetch == "deny"
            ))
            (expect "… rendered by home-manager's DAG order as plain actions: \"*\" first, then never a laxer rule after a stricter one"
              (
                let
                  # what home-manager's ordered JSON generator renders, entry by entry
                  sorted = home-manager.lib.hm.generators.toDAGOrderedAttrs { } opencode.permission.bash;
                  rank = d: if d == "deny" then 2 else if d == "ask" then 1 else 0;
                  ranks = map (e: rank e.value) (lib.tail sorted);
                in
                (lib.head sorted).name == "*"
                && lib.all (e: lib.isString e.value) sorted
                && lib.all (i: lib.elemAt ranks i <= lib.elemAt ranks (i + 1)) (lib.range 0 (lib.length ranks - 2))
              )
            )
            (expect "a permission of the user's own wins whole, with a warning" (
              composeOpencodePermission.config.programs.opencode.settings.permission == { bash = "ask"; }
              && lib.any (has "programs.opencode.settings.permission is yours") (
                ourWarnings composeOpencodePermission.config
              )
            ))
          ]
        else
          [
            (expect "release-25.11 writes config.json, which OpenCode reads before aiorch's opencode.json: left as is"
              (!(opencode ? mcp) && lib.any (lib.hasSuffix "opencode/config.json") files)
            )
          ]
      )
    );

  composeClientsOptionExpectations = [
    (expect "OpenCode's programs.mcp integration alone makes opencode.json Nix's (master): composed and listed" (
      let
        c = composeOpencodeIntegration.config;
        listed = lib.any (m: m.path == "~/.config/opencode/opencode.json") c.programs.aiorch.finalSettings.apply.nix_managed;
      in
      if composeOpencodeIntegration.options.programs.opencode ? tui then
        listed && c.programs.opencode.settings.mcp ? filesystem
      else
        !listed
    ))
    (expect "a Gemini / OpenCode command named like one of aiorch's: that file is Nix's, with a warning" (
      let
        m = map (x: x.path) composeClientsCommands.config.programs.aiorch.finalSettings.apply.nix_managed;
        w = ourWarnings composeClientsCommands.config;
        opencodeOurs = composeClientsCommands.options.programs.opencode ? tui;
      in
      lib.elem "~/.gemini/commands/plan.toml" m
      && lib.any (has "commands.plan replaces aiorch's /plan command") w
      && (
        !opencodeOurs
        || lib.elem "~/.config/opencode/commands/review.md" m
        && lib.any (has "programs.opencode.commands.review replaces aiorch's /review command") w
      )
    ))
    (expect "commands of the user's in Gemini CLI's / OpenCode's (master) module: aiorch's join them there, each file Nix's; the user's name wins"
      (
        let
          c = composeClientsCommands.config;
          o = composeClientsCommands.options;
          gm = if o.programs ? antigravity-cli then "antigravity-cli" else "gemini-cli";
          frags = c.programs.aiorch.commandsFragments;
          m = map (x: x.path) c.programs.aiorch.finalSettings.apply.nix_managed;
          w = ourWarnings c;
          aiorchs = [
            "ai-go"
            "consensus"
            "local"
            "review"
          ];
        in
        lib.all (n: c.programs.${gm}.commands.${n} == frags.gemini.${n}) aiorchs
        && c.programs.${gm}.commands.plan.prompt == "my plan"
        && lib.all (n: lib.elem "~/.gemini/commands/${n}.toml" m && c.home.file ? ".gemini/commands/${n}.toml") (
          aiorchs ++ [ "plan" ]
        )
        && !(lib.any (has "replaces aiorch's /review command; aiorch leaves ~/.gemini") w)
        && (
          !(o.programs.opencode ? tui)
          || lib.all (
            n:
            c.xdg.configFile."opencode/commands/${n}.md".text == frags.opencode.${n}
            && lib.elem "~/.config/opencode/commands/${n}.md" m
          ) [ "ai-go" "consensus" "local" "plan" ]
          && c.xdg.configFile."opencode/commands/review.md".text == "my review"
          && !(lib.any (has "commands.plan replaces aiorch's /plan command; aiorch leaves ~/.config") w)
        )
      )
    )
    (expect "no commands of the user's there: nothing composed, aiorch writes its own (not Nix's)" (
      !(composeClientsLinux.config.home.file ? ".gemini/commands/review.toml")
      && !(lib.any (m: lib.hasInfix "/commands/" m.path) composeClientsLinux.config.programs.aiorch.finalSettings.apply.nix_managed)
    ))
    (expect "the user's instructions text for Codex and Gemini: aiorch's follow it in that file, which is Nix's; no warning" (
      let
        c = composeClientsInstructions.config;
        m = map (x: x.path) c.programs.aiorch.finalSettings.apply.nix_managed;
        text = c.programs.aiorch.instructionsText;
      in
      c.home.file.".codex/AGENTS.md".text == "be brief\n" + text
      && c.home.file.".gemini/AGENTS.md".text == "be kind\n" + text
      && lib.all (p: lib.elem p m) [
        "~/.codex/AGENTS.md"
        "~/.gemini/AGENTS.md"
      ]
      && !(lib.any (has "AGENTS.md, which aiorch leaves alone") (
        lib.filter (w: !(has "programs.opencode" w)) (ourWarnings c)
      ))
    ))
    (expect "the user's instructions as a file (OpenCode): not joined, Nix's, with a warning" (
      let
        c = composeClientsInstructions.config;
      in
      lib.elem "~/.config/opencode/AGENTS.md" (map (x: x.path) c.programs.aiorch.finalSettings.apply.nix_managed)
      && c.xdg.configFile."opencode/AGENTS.md".text or null == null
      && lib.any (has "writes ~/.config/opencode/AGENTS.md, which aiorch leaves alone") (ourWarnings c)
    ))
    (expect "home.preferXdgDirectories: Codex's files are Nix's under ~/.config/codex, none under ~/.codex" (
      let
        c = composeCodexXdg.config;
        m = map (x: x.path) c.programs.aiorch.finalSettings.apply.nix_managed;
      in
      lib.all (p: lib.elem p m) [
        "~/.config/codex/config.toml"
        "~/.config/codex/AGENTS.md"
      ]
      && !(lib.any (lib.hasPrefix "~/.codex") m)
      && lib.any (lib.hasSuffix ".config/codex/config.toml") (lib.attrNames c.home.file)
      && c.home.file."/.config/codex/AGENTS.md".text == "be brief\n" + c.programs.aiorch.instructionsText
    ))
    (expect "… and activation runs `aiorch apply` with programs.codex's CODEX_HOME, so aiorch writes where Codex reads" (
      composeCodexXdg.config.home.sessionVariables.CODEX_HOME == "/home/alice/.config/codex"
      && has ''CODEX_HOME="/home/alice/.config/codex"'' composeCodexXdg.config.home.activation.aiorch.data
      && !(has "CODEX_HOME" composeClientsLinux.config.home.activation.aiorch.data)
    ))
    (expect "programs.codex without settings: nothing composed, config.toml stays aiorch's" (
      composeCodexPlain.config.programs.codex.settings == { }
      && !(lib.any (m: m.path == "~/.codex/config.toml") composeCodexPlain.config.programs.aiorch.finalSettings.apply.nix_managed)
    ))
  ];

  composeExpectations =
    platform: hm:
    let
      c = hm.config;
      a = c.programs.aiorch;
      fin = a.finalSettings;
      merged = c.programs.claude-code.settings;
      frag = a.claudeSettingsFragment;
      home = c.home.homeDirectory;
      servers = fin.mcp.servers;
      published = c.programs.mcp.servers.filesystem;
      litellm = c.programs.aiorch.services.litellm.package;
    in
    map (e: e // { what = "${platform}: ${e.what}"; }) [
      (expectEq "the rendered config lists ~/.claude/settings.json as Nix's" fin.apply.nix_managed [
        {
          path = "~/.claude/settings.json";
          by = "programs.claude-code";
        }
      ])
      (expectEq "aiorch's fragment is the fixture (home-relative marketplace expanded)"
        (lib.recursiveUpdate composeClaudeFixture {
          extraKnownMarketplaces.team.source.path = "${home}/src/team-plugins";
        })
        (lib.recursiveUpdate frag { extraKnownMarketplaces.team.source.path = "${home}/src/team-plugins"; })
      )
      (expectEq "a directory marketplace is expanded against the home" frag.extraKnownMarketplaces.team.source.path
        "${home}/src/team-plugins"
      )
      (expect "programs.claude-code.settings gets every rule of aiorch's policy" (
        lib.all (r: lib.elem r merged.permissions.deny) frag.permissions.deny
        && lib.all (r: lib.elem r merged.permissions.allow) frag.permissions.allow
      ))
      (expect "the user's own rule stays beside aiorch's" (lib.elem "Bash(make test:*)" merged.permissions.allow))
      (expectEq "the posture deny becomes defaultMode dontAsk" merged.permissions.defaultMode "dontAsk")
      (expectEq "the user's other settings stay" merged.theme "dark")
      (expectEq "marketplaces and plugins reach programs.claude-code.settings"
        [
          merged.extraKnownMarketplaces.anthropic-agent-skills.source.repo
          merged.enabledPlugins."pdf@anthropic-agent-skills"
        ]
        [
          "anthropics/skills"
          true
        ]
      )
      (expectEq "a value the user set differently: theirs wins"
        merged.enabledPlugins."example-skills@anthropic-agent-skills"
        false
      )
      (expect "… and a warning names the option to change" (
        lib.length (ourWarnings c) == 1
        && has ''programs.claude-code.settings.enabledPlugins."example-skills@anthropic-agent-skills" is false'' (
          lib.head (ourWarnings c)
        )
      ))
      (expect "home-manager writes ~/.claude/settings.json (a store link)" (
        lib.any (lib.hasSuffix ".claude/settings.json") (lib.attrNames c.home.file)
      ))
      (expect "programs.claude-code.package = null evaluates, down to the activation package" (
        c.programs.claude-code.package == null && lib.hasSuffix ".drv" hm.activationPackage.drvPath
      ))
      (expectEq "programs.mcp's servers join aiorch's registry, aiorch's own kept" (lib.attrNames servers) [
        "docs"
        "everything"
        "filesystem"
        "github"
      ])
      (expectEq "a secret named for a programs.mcp server goes through aiorch secrets exec"
        servers.github.secrets
        [ "GITHUB_TOKEN" ]
      )
      (expectEq "a remote programs.mcp server keeps its url and headers" servers.docs {
        url = "https://mcp.example.com/mcp";
        headers.X-Team = "tools";
      })
      (expect "a `{ file = …; }` env value is read when the server starts, literal ones stay" (
        servers.everything.command == "/bin/sh"
        && has "export EVERYTHING_TOKEN=\"$(cat -- ${lib.escapeShellArg "/run/secrets/everything"})\"" (
          lib.elemAt servers.everything.args 1
        )
        && lib.drop 2 servers.everything.args == [
          "npx"
          "-y"
          "@modelcontextprotocol/server-everything"
        ]
        && servers.everything.env == { LOG_LEVEL = "warn"; }
      ))
      (expect "aiorch's servers are published into programs.mcp, secrets through aiorch secrets exec" (
        published.command == lib.getExe a.package
        && lib.take 5 published.args == [
          "secrets"
          "exec"
          "--only"
          "FS_TOKEN"
          "--"
        ]
      ))
      (expectEq "the LiteLLM service runs its package from the store"
        (map unsafeDiscardStringContext fin.services.litellm.command)
        [ (unsafeDiscardStringContext (lib.getExe' litellm "litellm")) ]
      )
      (expect "services.litellm.package defaults to pkgs.litellm" (
        litellm == nixpkgs.legacyPackages.${if platform == "darwin" then darwinSystem else linuxSystem}.litellm
      ))
    ];

  composeOptionExpectations = [
    (expect "compose.enable = false: nothing goes into programs.claude-code.settings" (
      !(composeOff.config.programs.claude-code.settings ? extraKnownMarketplaces)
      && !(composeOff.config.programs.aiorch.finalSettings ? apply)
      && !(composeOff.config.programs.aiorch.finalSettings.mcp.servers ? everything)
    ))
    (expect "a server in both programs.mcp and programs.aiorch.mcpServers: defined once each way, with a warning"
      (
        composeClash.config.programs.mcp.servers.filesystem.command == "my-filesystem-server"
        && composeClash.config.programs.aiorch.finalSettings.mcp.servers.filesystem.command == "npx"
        && lib.any (has "mcpServers.filesystem is also in programs.mcp.servers") (ourWarnings composeClash.config)
      )
    )
    (expectEq "the user's CLAUDE.md and, with the user's own commands, every command file are Nix's"
      (map (m: m.path) composeClaudeFiles.config.programs.aiorch.finalSettings.apply.nix_managed)
      (
        [
          "~/.claude/settings.json"
          "~/.claude/CLAUDE.md"
        ]
        ++ map (n: "~/.claude/commands/${n}.md") [
          "ai-go"
          "consensus"
          "local"
          "plan"
          "review"
        ]
      )
    )
    (expect "aiorch's commands join the user's in programs.claude-code.commands, the user's name wins" (
      composeClaudeFiles.config.programs.claude-code.commands.review == "my review"
      && composeClaudeFiles.config.programs.claude-code.commands.plan == builtins.readFile ../../agentsmd/commands/plan.md
      && lib.any (lib.hasSuffix ".claude/commands/plan.md") (lib.attrNames composeClaudeFiles.config.home.file)
    ))
    (expect "without commands of the user's, aiorch keeps linking its own (nothing composed)" (
      composeLinux.config.programs.claude-code.commands == { }
    ))
    (expect "a programs.claude-code.mcpServers name that is also aiorch's server: a warning" (
      !composeLinux.options.programs.claude-code ? mcpServers
      || lib.any (has "programs.claude-code.mcpServers.filesystem is also one of aiorch's servers") (
        ourWarnings composeClaudeMcp.config
      )
    ))
    (expect "… with warnings: CLAUDE.md should import @AGENTS.md, the command replaces aiorch's" (
      lib.any (has "add a line `@AGENTS.md`") (ourWarnings composeClaudeFiles.config)
      && lib.any (has "commands.review replaces aiorch's /review command") (ourWarnings composeClaudeFiles.config)
    ))
  ]
  ++ lib.optional hasMcpIntegration (
    expect "enableMcpIntegration: programs.mcp's and the published servers reach Claude once (through home-manager)" (
      lib.all (
        s: !(lib.elem "claude" (s.clients or [ "claude" ]))
      ) (lib.attrValues composeIntegrated.config.programs.aiorch.finalSettings.mcp.servers)
    )
  );

  # --- what the nix-darwin module must produce ------------------------------------------------
  darwinExpectations =
    let
      c = darwin.config;
      a = c.services.aiorch;
      exe = lib.getExe a.package;
      configPath = "${a.configFile}";
      post = c.system.activationScripts.postActivation.text;
      agents = lib.filterAttrs (n: _: lib.hasPrefix "aiorch" n) c.launchd.user.agents;
      webui = agents.aiorch-open-webui.serviceConfig;
    in
    [
      (expect "the package is installed" (lib.elem a.package c.environment.systemPackages))
      (expectEq "AIORCH_CONFIG points at the rendered config" c.environment.variables.AIORCH_CONFIG
        configPath
      )
      (expect "activation applies the config as the primary user" (
        has ''launchctl asuser "$(id -u -- alice)" sudo --user=alice --set-home -- env PATH='' post
        && has "--config ${lib.escapeShellArg configPath}" post
        && has "aiorchArgs+=(apply)" post
      ))
      (expect "activation honours DRY_RUN and VERBOSE" (
        has "[[ -v DRY_RUN ]]" post && has "[[ -v VERBOSE ]]" post
      ))
      (expect "activation puts the system packages on PATH" (has "${c.system.path}/bin" post))
      (expect "activation never touches Claude's plugin cache" (!(has "plugin" post)))
      (expectEq "launchd user agents of the enabled services" (lib.attrNames agents) [
        "aiorch-local-model"
        "aiorch-open-webui"
      ])
      (expectEq "open webui agent runs `aiorch service run open_webui`" webui.ProgramArguments [
        exe
        "--config"
        configPath
        "service"
        "run"
        "open_webui"
      ])
      (expectEq "agents are labelled by nix-darwin" webui.Label "org.nixos.aiorch-open-webui")
      (expectEq "agents restart after a crash" (nonNull webui.KeepAlive) {
        Crashed = true;
        SuccessfulExit = false;
      })
      (expect "the agent plist is rendered" (
        has "<string>open_webui</string>"
          c.environment.userLaunchAgents."org.nixos.aiorch-open-webui.plist".text
      ))
      (expectEq "no aiorch warnings" (lib.filter (has "aiorch") c.warnings) [ ])
    ];

  darwinHmExpectations =
    let
      c = darwinHm.config;
      u = c.home-manager.users.alice;
    in
    [
      (expect "home-manager's user config enables programs.aiorch" u.programs.aiorch.enable)
      (expectEq "the options are forwarded: same rendered config" (unstore u.programs.aiorch.finalSettings)
        darwinFixture
      )
      (expect "home-manager runs the activation" (u.home.activation ? aiorch))
      (expectEq "home-manager defines the agents"
        (lib.attrNames (lib.filterAttrs (n: _: lib.hasPrefix "aiorch" n) u.launchd.agents))
        [
          "aiorch-local-model"
          "aiorch-open-webui"
        ]
      )
      (expectEq "nix-darwin defines no agents of its own" (lib.attrNames (
        lib.filterAttrs (n: _: lib.hasPrefix "aiorch" n) c.launchd.user.agents
      )) [ ])
      (expect "nix-darwin does not apply the config itself" (
        !(has "aiorchArgs" c.system.activationScripts.postActivation.text)
      ))
      (expect "managing aiorch both ways warns" (
        lib.any (has "aiorch is enabled both by services.aiorch") darwinBoth.config.warnings
      ))
      (expect "handing over without home-manager's module fails an assertion" (
        lib.any (a: !a.assertion && has "needs home-manager" a.message) darwinNoHm.config.assertions
      ))
      (expectEq "nix-darwin applying beside programs.claude-code leaves ~/.claude/settings.json alone"
        darwinClaudeApplies.config.services.aiorch.finalSettings.apply.nix_managed
        [
          {
            path = "~/.claude/settings.json";
            by = "programs.claude-code";
          }
        ]
      )
      (expect "… and warns that Claude does not get aiorch's settings that way" (
        lib.any (has "services.aiorch.homeManager.enable = true to hand them") darwinClaudeApplies.config.warnings
      ))
      (expect "handed to home-manager, aiorch's policy reaches programs.claude-code.settings" (
        darwinClaudeHanded.config.home-manager.users.alice.programs.claude-code.settings.permissions ? deny
        && darwinClaudeHanded.config.home-manager.users.alice.programs.aiorch.finalSettings.apply.nix_managed
          == darwinClaudeApplies.config.services.aiorch.finalSettings.apply.nix_managed
      ))
      (expectEq "nix-darwin applying beside programs.codex and programs.aider-chat leaves their files alone too"
        (map (m: m.path) darwinClientsApplies.config.services.aiorch.finalSettings.apply.nix_managed)
        [
          "~/.claude/settings.json"
          "~/.codex/config.toml"
          "~/.aider.conf.yml"
        ]
      )
      (expect "… with a warning naming each module" (
        lib.any (has "programs.codex of home-manager.users.alice writes ~/.codex/config.toml") darwinClientsApplies.config.warnings
        && lib.any (has "programs.aider-chat of home-manager.users.alice") darwinClientsApplies.config.warnings
      ))
      (expectEq "nix-darwin applying beside home-manager's own files where aiorch writes leaves them alone"
        (map (m: m.path) darwinOwnFiles.config.services.aiorch.finalSettings.apply.nix_managed)
        [
          "~/.claude/settings.json"
          "~/.claude/CLAUDE.md"
          "~/.config/opencode/commands/deploy.md"
        ]
      )
      (expect "… with one warning naming them" (
        lib.any (has "writes 2 file(s) where aiorch") darwinOwnFiles.config.warnings
      ))
      (expect "nix-darwin beside programs.codex with home.preferXdgDirectories: ~/.config/codex/config.toml is Nix's and apply gets CODEX_HOME" (
        lib.elem "~/.config/codex/config.toml" (
          map (m: m.path) darwinCodexXdg.config.services.aiorch.finalSettings.apply.nix_managed
        )
        && has ''CODEX_HOME="/Users/alice/.config/codex"'' darwinCodexXdg.config.system.activationScripts.postActivation.text
        && !(has "CODEX_HOME" darwinClientsApplies.config.system.activationScripts.postActivation.text)
      ))
      (expect "a client module's programs.mcp integration alone also makes its file Nix's (OpenCode on master)" (
        let
          listed = lib.any (m: m.path == "~/.config/opencode/opencode.json") darwinOpencodeIntegration.config.services.aiorch.finalSettings.apply.nix_managed;
        in
        if darwinOpencodeIntegration.config.home-manager.users.alice.programs.opencode ? tui then listed else !listed
      ))
      (expect "handed to home-manager: the same files are Nix's, and Codex gets aiorch's servers" (
        darwinClientsHanded.config.home-manager.users.alice.programs.aiorch.finalSettings.apply.nix_managed
          == darwinClientsApplies.config.services.aiorch.finalSettings.apply.nix_managed
        && darwinClientsHanded.config.home-manager.users.alice.programs.codex.settings.mcp_servers ? aiorch
      ))
      (expect "the package is still installed system-wide" (
        lib.elem c.services.aiorch.package c.environment.systemPackages
      ))
    ];
in
{
  package = self.packages.${system}.default;

  # nixfmt (RFC 166 style) over every Nix file of the flake
  formatting =
    pkgs.runCommand "aiorch-nixfmt-check"
      {
        nativeBuildInputs = [ pkgs.nixfmt ];
        src = lib.fileset.toSource {
          root = ../..;
          fileset = lib.fileset.unions [
            ../../flake.nix
            (lib.fileset.fileFilter (file: file.hasExt "nix") ../.)
          ];
        };
      }
      ''
        cd "$src"
        find . -name '*.nix' -print0 | sort -z | xargs -0 nixfmt --check
        touch "$out"
      '';

  # the rendered configs equal the fixtures the Rust tests feed to `aiorch apply --config`;
  # regenerate them with nix/tests/update-fixtures.sh
  fixtures =
    mkCheck "fixtures"
      [
        (expectEq
          "nix/tests/fixtures/hm-config.json is the config rendered from hm-test.nix (run nix/tests/update-fixtures.sh)"
          (unstore hmLinux.config.programs.aiorch.finalSettings)
          hmFixture
        )
        (expectEq "the home-manager module renders the same config on macOS"
          (unstore hmDarwin.config.programs.aiorch.finalSettings)
          hmFixture
        )
        (expectEq
          "nix/tests/fixtures/darwin-config.json is the config rendered from darwin-test.nix (run nix/tests/update-fixtures.sh)"
          (unstore darwin.config.services.aiorch.finalSettings)
          darwinFixture
        )
        (expectEq
          "nix/tests/fixtures/compose-config.json is the config rendered from compose-test.nix (run nix/tests/update-fixtures.sh)"
          (unstore composeLinux.config.programs.aiorch.finalSettings)
          composeFixture
        )
        (expectEq
          "nix/tests/fixtures/compose-claude.json is what compose-test.nix hands to programs.claude-code (run nix/tests/update-fixtures.sh)"
          composeLinux.config.programs.aiorch.claudeSettingsFragment
          composeClaudeFixture
        )
        (expectEq
          "nix/tests/fixtures/compose-clients-config.json is the config rendered from compose-clients-test.nix (run nix/tests/update-fixtures.sh)"
          # apply.nix_managed names release-25.11's and master's modules differently
          (removeAttrs (unstore composeClientsLinux.config.programs.aiorch.finalSettings) [ "apply" ])
          (removeAttrs composeClientsFixture [ "apply" ])
        )
        (expectEq
          "nix/tests/fixtures/compose-instructions.json is aiorch's instructions as compose.nix composes them from fixtures/agentsmd (run nix/tests/update-fixtures.sh)"
          composeClientsInstructions.config.programs.aiorch.instructionsText
          instructionsFixture
        )
        (expectEq
          "nix/tests/fixtures/compose-commands.json is aiorch's commands as compose.nix reads them from fixtures/agentsmd for Gemini CLI and OpenCode (run nix/tests/update-fixtures.sh)"
          composeClientsInstructions.config.programs.aiorch.commandsFragments
          commandsFixture
        )
        (expectEq
          "nix/tests/fixtures/compose-{codex,gemini,opencode}.json are what compose-clients-test.nix hands to those modules (run nix/tests/update-fixtures.sh)"
          (lib.mapAttrs (_: unstore) composeClientsLinux.config.programs.aiorch.clientSettingsFragments)
          clientFixtures
        )
      ]
      {
        hm = hmFixture;
        darwin = darwinFixture;
        compose = composeFixture;
      };

  hm-module-linux = mkCheck "hm-module-linux" (hmExpectations "linux" hmLinux) (hmSummary hmLinux);
  hm-module-darwin = mkCheck "hm-module-darwin" (hmExpectations "darwin" hmDarwin) (
    hmSummary hmDarwin
  );
  hm-options = mkCheck "hm-options" optionExpectations {
    minimal = minimal.config.programs.aiorch.finalSettings;
    agree = agree.config.programs.aiorch.finalSettings;
  };

  # home-manager's programs.claude-code + programs.mcp + programs.aiorch, for both platforms
  compose =
    mkCheck "compose"
      (
        composeExpectations "linux" composeLinux
        ++ composeExpectations "darwin" composeDarwin
        ++ composeOptionExpectations
        ++ composeClientsExpectations "linux" composeClientsLinux
        ++ composeClientsExpectations "darwin" composeClientsDarwin
        ++ composeClientsOptionExpectations
      )
      {
        claude = composeLinux.config.programs.aiorch.claudeSettingsFragment;
        config = unstore composeLinux.config.programs.aiorch.finalSettings;
      };

  darwin-module = mkCheck "darwin-module" darwinExpectations {
    config = darwin.config.services.aiorch.finalSettings;
    postActivation = darwin.config.system.activationScripts.postActivation.text;
    agents = lib.mapAttrs (_: a: a.serviceConfig) darwin.config.launchd.user.agents;
  };
  darwin-module-home-manager = mkCheck "darwin-module-home-manager" darwinHmExpectations {
    config = darwinHm.config.home-manager.users.alice.programs.aiorch.finalSettings;
  };

  # the whole home-manager generation of the host platform (a real build with real nixpkgs)
  hm-activation = (if hostIsDarwin then hmDarwin else hmLinux).activationPackage;
}
// lib.optionalAttrs hostIsDarwin {
  # the whole nix-darwin system (a real build on macOS)
  darwin-toplevel = darwin.system;
}
