# home-manager: programs.aiorch beside home-manager's own client modules.
#
# home-manager's programs.claude-code (like programs.codex, programs.gemini-cli,
# programs.opencode and programs.aider-chat, when the user gives them settings) writes its
# settings file as a read-only link into the Nix store, so `aiorch apply` cannot merge into it.
# Instead, aiorch's part of that file is handed to the client module's own options and merged
# there by the module system; the rendered config lists the file under `apply.nix_managed`, so
# apply leaves it alone and `aiorch doctor` checks that the store file carries aiorch's part.
#
# What aiorch merges into those files is computed here in Nix, from the rendered config,
# because option values cannot come from a build without import-from-derivation (which would
# build aiorch, for the target system, during every evaluation). The translations follow
# src/clients/*.rs, src/mcp/registry.rs, src/mcp/plugins.rs and src/policy/model.rs; the flake
# checks `fixtures` and `compose` and the Rust tests `nix_fixtures::compose_fixture*` hold them to
# `aiorch render --client NAME` through the shared fixtures nix/tests/fixtures/compose-*.json,
# and `aiorch doctor` compares the store file with the binary's own rendering at run time.
#
# programs.mcp: its servers join aiorch's registry (every client aiorch manages gets them), and
# with `programs.aiorch.mcp.publish` aiorch's servers are published into programs.mcp.servers.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  shared = import ./options.nix { inherit lib pkgs; };
  inherit (lib)
    attrByPath
    concatStringsSep
    elem
    filter
    filterAttrs
    hasPrefix
    isAttrs
    isList
    mapAttrs
    mkDefault
    mkIf
    mkMerge
    mkOption
    optional
    optionals
    types
    ;
  cfg = config.programs.aiorch;
  home = config.home.homeDirectory;
  final = cfg.finalSettings;

  # --- Claude Code: what aiorch merges into ~/.claude/settings.json ------------------------------

  # The permission policy file of the agentsmd tree aiorch reads: the tree built into the
  # package (this flake's agentsmd/), or a Nix path given as agentsmd.source. A string source is
  # a live checkout that pure evaluation cannot read (null).
  policySource =
    let
      s = cfg.agentsmd.source;
    in
    if s == null then
      ../agentsmd/permissions/policy.toml
    else if builtins.isPath s then
      s + "/permissions/policy.toml"
    else if lib.isStorePath s then
      "${s}/permissions/policy.toml"
    else
      null;
  readPolicy = f: if builtins.pathExists f then builtins.fromTOML (builtins.readFile f) else { };

  kinds = [
    {
      list = "commands";
      norm = p: concatStringsSep " " (filter (w: builtins.isString w && w != "") (builtins.split "[[:space:]]+" p));
      claude = p: "Bash(${p}:*)";
    }
    {
      list = "read";
      norm = p: p;
      claude = p: "Read(${claudePath p})";
    }
    {
      list = "write";
      norm = p: p;
      claude = p: "Edit(${claudePath p})";
    }
    {
      list = "hosts";
      norm = lib.toLower;
      claude = p: "WebFetch(domain:${p})";
    }
    {
      list = "mcp";
      norm = p: p;
      claude =
        p:
        let
          parts = lib.splitString "/" p;
        in
        if lib.length parts > 1 then
          "mcp__${lib.head parts}__${concatStringsSep "/" (lib.tail parts)}"
        else
          "mcp__${p}";
    }
  ];
  # `//abs` is absolute for Claude; a single leading `/` would be relative to the settings file
  claudePath = p: if hasPrefix "/" p then "/${p}" else p;

  # Policy::build in Claude's form: `policyRules` in each kind's native syntax, each rule once
  claudePolicy =
    base: p:
    let
      byList = lib.listToAttrs (map (k: lib.nameValuePair k.list k) kinds);
      rules = map (r: {
        inherit (r) decision;
        native = byList.${r.kind}.claude r.pattern;
      }) (policyRules base p);
      lists = lib.genAttrs [
        "allow"
        "ask"
        "deny"
      ] (d: lib.unique (map (r: r.native) (filter (r: r.decision == d) rules)));
      posture = p.posture or base.posture or "ask";
    in
    filterAttrs (_: v: v != [ ]) lists // lib.optionalAttrs (posture == "deny") { defaultMode = "dontAsk"; };

  # mcp/plugins.rs `declared` + clients/claude.rs `plugin_artifacts`
  claudePlugins =
    pl:
    let
      defaults = pl.defaults or true;
      gh = repo: {
        source = {
          source = "github";
          inherit repo;
        };
      };
      expand =
        m:
        if (m.source.source or "") == "directory" && hasPrefix "~/" m.source.path then
          m // { source = m.source // { path = home + lib.removePrefix "~" m.source.path; }; }
        else
          m;
      marketplaces =
        lib.optionalAttrs defaults {
          anthropic-agent-skills = gh "anthropics/skills";
          claude-plugins-official = gh "anthropics/claude-plugins-official";
        }
        // mapAttrs (_: expand) (pl.marketplaces or { });
      enabled =
        optionals defaults [
          "document-skills@anthropic-agent-skills"
          "example-skills@anthropic-agent-skills"
        ]
        ++ pl.enabled or [ ];
    in
    lib.optionalAttrs (marketplaces != { }) { extraKnownMarketplaces = marketplaces; }
    // lib.optionalAttrs (enabled != [ ]) { enabledPlugins = lib.genAttrs enabled (_: true); };

  policyOn = (final.policy.enable or true) && (final.policy.clients.claude or true);
  # the settings aiorch would merge into ~/.claude/settings.json for the rendered config
  claudeFragment =
    claudePlugins (final.plugins or { })
    // lib.optionalAttrs (policyOn && policySource != null) (
      let
        perms = claudePolicy (readPolicy policySource) (final.policy or { });
      in
      lib.optionalAttrs (perms != { }) { permissions = perms; }
    );

  # Each value at the priority that lets the user's own win: lists merge (concatenated with
  # the user's), everything else is a default.
  asDefaults = v: if isAttrs v then mapAttrs (_: asDefaults) v else if isList v then v else mkDefault v;

  # leaves of the fragment whose merged value is not aiorch's: [ { path; want; have; } ]
  overridden =
    prefix: fragment: merged:
    lib.concatLists (
      lib.mapAttrsToList (
        n: v:
        let
          path = prefix ++ [ n ];
          have = attrByPath path null merged;
        in
        if isAttrs v then
          overridden path v merged
        else if isList v then
          optional (!(lib.all (x: elem x (if isList have then have else [ ])) v)) { inherit path have; want = v; }
        else
          optional (have != v) { inherit path have; want = v; }
      ) fragment
    );
  showPath = path: concatStringsSep "." (map (n: if builtins.match "[A-Za-z0-9_-]+" n != null then n else ''"${n}"'') path);

  # Whether aiorch manages a client, read from the options (not from the rendered config,
  # which itself lists the files decided here).
  clientMode =
    c: if cfg.clients.${c} != null then cfg.clients.${c} else cfg.settings.clients.${c} or "auto";
  aiorchOn = cfg.settings.enable or true;

  hasClaudeModule = options ? programs.claude-code.settings;
  claudeOn =
    cfg.compose.enable
    && hasClaudeModule
    && config.programs.claude-code.enable
    && aiorchOn
    && clientMode "claude" != "never";

  # Other files of programs.claude-code where aiorch writes too: CLAUDE.md (aiorch's imports
  # @AGENTS.md) and commands (aiorch links ~/.claude/commands/NAME.md). When the user gives
  # `commands` (not `commandsDir`, which the module does not allow beside it), aiorch's commands
  # join them there, one default per name (the user's name wins, with a warning), and each file
  # is Nix's; without the user's commands aiorch keeps linking its own. A commands directory or a
  # CLAUDE.md of the user's is Nix's.
  cc = config.programs.claude-code;
  claudeMd =
    if options ? programs.claude-code.context then
      if cc.context == "" then null else cc.context
    else if (cc.memory.text or null) != null then
      cc.memory.text
    else
      cc.memory.source or null;
  claudeMdOption =
    if options ? programs.claude-code.context then "programs.claude-code.context" else "programs.claude-code.memory";
  claudeMdText = if claudeMd == null || builtins.isString claudeMd then claudeMd else builtins.readFile claudeMd;
  treeCommandsDir =
    let
      s = cfg.agentsmd.source;
    in
    if s == null then
      ../agentsmd/commands
    else if builtins.isPath s then
      s + "/commands"
    else if lib.isStorePath s then
      "${s}/commands"
    else
      null;
  treeCommands =
    let
      dir = treeCommandsDir;
    in
    if dir != null && builtins.pathExists dir then
      map (f: lib.removeSuffix ".md" (lib.removePrefix "${toString dir}/" (toString f))) (
        filter (f: lib.hasSuffix ".md" (toString f)) (lib.filesystem.listFilesRecursive dir)
      )
    else
      [ ];
  # names the user (not this module) defines in an attrs option
  userNames =
    o:
    lib.unique (
      lib.concatMap (
        d:
        let
          v = d.value;
        in
        if (v._type or null) == "if" then
          lib.optionals v.condition (lib.attrNames v.content)
        else if isAttrs v && !(v ? _type) then
          lib.attrNames v
        else
          [ ]
      ) (filter (d: d.file != toString ./compose.nix) o.definitionsWithLocations)
    );
  hasClaudeCommands = options ? programs.claude-code.commands;
  userCommands = lib.optionals hasClaudeCommands (userNames options.programs.claude-code.commands);
  commandClashes = lib.intersectLists userCommands treeCommands;
  # (not read through `commands`, whose value holds aiorch's own definitions)
  commandsDir = cc.commandsDir or null;
  # aiorch's commands go into programs.claude-code.commands (the files are what clients/claude.rs
  # links: the tree's own command files, byte for byte)
  commandsComposed = claudeOn && hasClaudeCommands && commandsDir == null && userCommands != [ ];
  claudeFiles =
    lib.optional (claudeMd != null) {
      path = "~/.claude/CLAUDE.md";
      by = claudeMdOption;
    }
    ++ (
      if commandsDir != null then
        [
          {
            path = "~/.claude/commands";
            by = "programs.claude-code.commandsDir";
          }
        ]
      else
        map (n: {
          path = "~/.claude/commands/${n}.md";
          by = "programs.claude-code.commands.${n}";
        }) (if commandsComposed then treeCommands else commandClashes)
    );

  # --- Codex, Gemini CLI, OpenCode: aiorch's MCP servers (and context names) into their settings --
  # The servers as src/mcp/registry.rs resolves them: aiorch's own first (`mcp.serve_self`),
  # secrets through `aiorch secrets exec --only …`; the activation runs aiorch with
  # `--config <the rendered file>`, so the children it registers read that file too.
  aiorchExe = "${cfg.package}/bin/aiorch";
  selfPrefix = [
    "--config"
    "${cfg.configFile}"
  ];
  expandHome = p: if p == "~" then home else if hasPrefix "~/" p then home + lib.removePrefix "~" p else p;
  resolveServer =
    s:
    let
      secrets = s.secrets or [ ];
      cmd = expandHome s.command;
    in
    (removeAttrs s [
      "command"
      "args"
      "url"
      "transport"
      "cwd"
    ])
    // (
      if (s.command or null) != null then
        {
          stdio = true;
          command = if secrets == [ ] then cmd else aiorchExe;
          args =
            if secrets == [ ] then
              s.args or [ ]
            else
              selfPrefix
              ++ [
                "secrets"
                "exec"
                "--only"
                (concatStringsSep "," secrets)
                "--"
                cmd
              ]
              ++ s.args or [ ];
        }
        // lib.optionalAttrs ((s.cwd or null) != null) { cwd = expandHome s.cwd; }
      else
        {
          stdio = false;
          inherit (s) url;
          sse = (s.transport or "http") == "sse";
        }
    );
  registry =
    lib.optionalAttrs (final.mcp.serve_self or true) {
      aiorch = {
        stdio = true;
        command = aiorchExe;
        args = selfPrefix ++ [
          "mcp"
          "serve"
        ];
      };
    }
    // mapAttrs (_: resolveServer) (final.mcp.servers or { });
  serversFor =
    client: filterAttrs (_: s: s.clients or null == null || elem client s.clients) registry;

  # `${NAME}` / `${NAME:-d}` references (registry.rs env_refs)
  refPattern = "\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?}";
  hasRef = v: lib.any isList (builtins.split refPattern v);
  wholeRef =
    v:
    let
      m = builtins.match "\\$\\{([A-Za-z_][A-Za-z0-9_]*)}" v;
    in
    if m == null then null else lib.head m;
  nonEmpty = filterAttrs (_: v: v != { } && v != [ ] && v != null);
  opt = cond: attrs: lib.optionalAttrs cond attrs;

  # clients/codex.rs mcp_entry: Codex expands no `${VAR}`; variables go by name
  codexEntry =
    s:
    let
      env = s.env or { };
      headers = s.headers or { };
      envVars =
        lib.attrNames (filterAttrs (k: v: wholeRef v == k) env)
        ++ optionals ((final.secrets.backend or null) == "env") (s.secrets or [ ]);
      isBearer =
        h: v: lib.toLower h == "authorization" && hasPrefix "Bearer " v && wholeRef (lib.removePrefix "Bearer " v) != null;
      bearer = lib.findFirst (x: x != null) null (
        lib.mapAttrsToList (h: v: if isBearer h v then wholeRef (lib.removePrefix "Bearer " v) else null) headers
      );
    in
    if !s.stdio && s.sse then
      null
    else
      (
        if s.stdio then
          {
            inherit (s) command args;
          }
          // nonEmpty {
            env = filterAttrs (_: v: !hasRef v) env;
            env_vars = lib.unique envVars;
          }
          // opt (s ? cwd) { inherit (s) cwd; }
        else
          { inherit (s) url; }
          // nonEmpty {
            bearer_token_env_var = bearer;
            http_headers = filterAttrs (h: v: !hasRef v) headers;
            env_http_headers = mapAttrs (_: wholeRef) (filterAttrs (h: v: !isBearer h v && wholeRef v != null) headers);
          }
      )
      // opt (s ? startup_timeout) { startup_timeout_sec = s.startup_timeout; }
      // opt (s ? timeout) { tool_timeout_sec = s.timeout; }
      // opt (s ? tools) { enabled_tools = s.tools; };

  # clients/gemini.rs mcp_entry: Gemini expands `${VAR}` itself; timeout in ms
  geminiEntry =
    s:
    (
      if s.stdio then
        { inherit (s) command args; } // nonEmpty { env = s.env or { }; } // opt (s ? cwd) { inherit (s) cwd; }
      else
        {
          type = if s.sse then "sse" else "http";
          inherit (s) url;
        }
        // nonEmpty { headers = s.headers or { }; }
    )
    // opt (s ? timeout) { timeout = s.timeout * 1000; }
    // opt (s ? tools) { includeTools = s.tools; };

  # clients/opencode.rs mcp_entry: `{env:VAR}` syntax, one command array, no cwd (a sh wrapper)
  envSyntax = v: lib.concatMapStrings (x: if isList x then "{env:${lib.head x}}" else x) (builtins.split refPattern v);
  opencodeEntry =
    s:
    let
      argv =
        if s ? cwd then
          [
            "/bin/sh"
            "-c"
            ''cd -- "$1" && shift && exec "$@"''
            "aiorch-cwd"
            s.cwd
            s.command
          ]
          ++ s.args
        else
          [ s.command ] ++ s.args;
      t = s.timeout or s.startup_timeout or null;
    in
    (
      if s.stdio then
        {
          type = "local";
          command = map envSyntax argv;
        }
        // nonEmpty { environment = mapAttrs (_: envSyntax) (s.env or { }); }
      else
        {
          type = "remote";
          url = envSyntax s.url;
        }
        // nonEmpty { headers = mapAttrs (_: envSyntax) (s.headers or { }); }
    )
    // {
      enabled = true;
    }
    // opt (t != null) { timeout = t * 1000; };

  # clients/opencode.rs policy: OpenCode's `permission`. Per permission an object of pattern →
  # action where the LAST matching pattern wins, so order matters: "*" (the posture) first, then
  # allow → ask → deny. Nix attribute sets have no order, so what goes into
  # programs.opencode.settings is home-manager's DAG form (master renders opencode.json with
  # `lib.hm.dag` entries in topological order); `opencodePermission` is the plain value (the
  # fixture the binary is held to).
  rank = d: if d == "deny" then 2 else if d == "ask" then 1 else 0;
  # Policy::build: base file, then the config's additions, per decision and kind
  policyRules =
    base: p:
    lib.concatMap (
      decision:
      lib.concatMap (
        set:
        lib.concatMap (
          k:
          map (pat: {
            inherit decision;
            kind = k.list;
            pattern = k.norm (lib.trim pat);
          }) (set.${k.list} or [ ])
        ) kinds
      ) [
        (base.${decision} or { })
        (p.${decision} or { })
      ]
    ) [
      "allow"
      "ask"
      "deny"
    ];
  opencodePolicy =
    let
      base = readPolicy policySource;
      p = final.policy or { };
      rules = policyRules base p;
      posture = p.posture or base.posture or "ask";
      unlisted = if posture == "deny" then "deny" else "ask";
      star = builtins.replaceStrings [ "**" ] [ "*" ];
      pathPats =
        g:
        if hasPrefix "/" g || hasPrefix "~" g then
          null
        else
          [ (star g) ] ++ lib.optional (hasPrefix "*/" (star g)) (lib.removePrefix "*/" (star g));
      of = kind: filter (r: r.kind == kind) rules;
      paths =
        kind:
        lib.concatMap (
          r:
          map (pattern: {
            inherit pattern;
            inherit (r) decision;
          }) (if pathPats r.pattern == null then [ ] else pathPats r.pattern)
        ) (of kind);
      clean = s: lib.concatMapStrings (c: if builtins.match "[A-Za-z0-9_-]" c != null then c else "_") (lib.stringToCharacters s);
      mcpName =
        pat:
        let
          parts = lib.splitString "/" pat;
        in
        "${clean (lib.head parts)}_${
          if lib.length parts > 1 then clean (concatStringsSep "/" (lib.tail parts)) else "*"
        }";
      lists = {
        bash = lib.concatMap (r: [
          {
            inherit (r) pattern decision;
          }
          {
            pattern = "${r.pattern} *";
            inherit (r) decision;
          }
        ]) (of "commands");
        edit = paths "write";
        read = paths "read";
        external_directory = map (r: {
          pattern = star r.pattern;
          decision = "deny";
        }) (
          filter (
            r:
            pathPats r.pattern == null
            && r.decision == "deny"
            && (lib.hasSuffix "/**" r.pattern || lib.hasSuffix "/*" r.pattern)
          ) (of "read" ++ of "write")
        );
      };
      heads = {
        bash = unlisted;
        edit = unlisted;
        read = "allow";
        external_directory = "ask";
      };
      # pattern → the strictest decision given for it (a later, stricter rule wins in Rust too)
      strictest = builtins.foldl' (
        acc: e:
        acc
        // {
          ${e.pattern} = if acc ? ${e.pattern} && rank acc.${e.pattern} > rank e.decision then acc.${e.pattern} else e.decision;
        }
      ) { };
      tools = strictest (
        map (r: {
          pattern = mcpName r.pattern;
          inherit (r) decision;
        }) (of "mcp")
      );
      shown = k: k == "bash" || k == "edit" || lists.${k} != [ ];
      # one permission's object, plain and as DAG entries ("*" first, then by decision)
      plain = k: { "*" = heads.${k}; } // strictest lists.${k};
      dag =
        k:
        let
          o = strictest lists.${k};
          below = d: [ "*" ] ++ lib.attrNames (filterAttrs (_: x: rank x < rank d) o);
        in
        # a plain value: home-manager renders an entry without ordering as the entry itself
        mapAttrs (_: d: lib.hm.dag.entryAfter (below d) d) o // { "*" = heads.${k}; };
      build =
        obj:
        lib.genAttrs (filter shown (lib.attrNames lists)) obj
        // {
          webfetch = unlisted;
        };
    in
    {
      plain = build plain // lib.optionalAttrs (posture == "deny") { "*_*" = "deny"; } // tools;
      # unlisted MCP tools (`*_*`) before the named ones
      dag =
        build dag
        // lib.optionalAttrs (posture == "deny") { "*_*" = "deny"; }
        // mapAttrs (_: d: if posture == "deny" then lib.hm.dag.entryAfter [ "*_*" ] d else d) tools;
    };
  opencodePolicyOn =
    (final.policy.enable or true) && (final.policy.clients.opencode or true) && policySource != null;

  # The user's own definitions of an option (not this module's): whether they set it at all
  userDefs =
    o: filter (d: d.file != toString ./compose.nix && d.value != { } && d.value != null) o.definitionsWithLocations;

  # home-manager master renamed programs.gemini-cli to programs.antigravity-cli, which writes
  # ~/.gemini/settings.json only with useLegacyGeminiConfig (set for old gemini-cli users)
  geminiModule = if options ? programs.antigravity-cli.settings then "antigravity-cli" else "gemini-cli";
  # home-manager master writes opencode.json (OpenCode's own name, the file aiorch merges into)
  # since OpenCode 1.2.15 split tui.json out; release-25.11 writes config.json, which OpenCode
  # 1.18 reads *before* opencode.json, so there aiorch keeps merging into its own file.
  opencodeWritesOurs = options ? programs.opencode.tui;

  # clients/codex.rs gateway_artifacts, for `gateway.route_clients` with codex: the gateway
  # (gateway.url, else LiteLLM's address, services/litellm.rs base_url) as Codex's provider
  gw = final.gateway or { };
  litellm = final.services.litellm or { };
  urlHost =
    h:
    if h == "0.0.0.0" || h == "" then
      "127.0.0.1"
    else if h == "::" then
      "[::1]"
    else if lib.hasInfix ":" h && !hasPrefix "[" h then
      "[${h}]"
    else
      h;
  gatewayUrl = lib.removeSuffix "/" (
    gw.url or "http://${urlHost (litellm.host or "127.0.0.1")}:${toString (litellm.port or 4000)}"
  );
  gatewayKey = gw.key_secret or litellm.master_key_secret or "LITELLM_MASTER_KEY";
  codexGateway = lib.optionalAttrs (elem "codex" (gw.route_clients or [ ])) {
    model_providers.aiorch = {
      name = "aiorch gateway";
      base_url = "${gatewayUrl}/v1";
      wire_api = "responses";
    }
    // lib.optionalAttrs (gatewayKey != "") {
      env_key = gatewayKey;
      env_key_instructions = "run Codex as `aiorch secrets exec --only ${gatewayKey} -- codex`";
    };
    model_provider = "aiorch";
    model = "coding-model";
  };

  # Codex's home: ~/.config/codex with home.preferXdgDirectories, where programs.codex also sets
  # CODEX_HOME, which the activation passes to `aiorch apply` (hm-module.nix), so aiorch writes
  # where Codex reads (clients/codex.rs `home`)
  codexDir = shared.codexDir config;

  clientModules = [
    {
      module = "codex";
      client = "codex";
      path = "${codexDir}/config.toml";
      root = "mcp_servers";
      entry = codexEntry;
      extra = codexGateway;
      extraKeys = [
        "model_providers"
        "model_provider"
        "model"
      ];
      writes = true;
    }
    {
      module = geminiModule;
      client = "gemini";
      path = "~/.gemini/settings.json";
      root = "mcpServers";
      entry = geminiEntry;
      # clients/gemini.rs artifacts: aiorch's context names join the user's
      extra.context.fileName = [
        "AGENTS.md"
        "GEMINI.md"
      ];
      extraKeys = [ "context" ];
      writes =
        geminiModule == "gemini-cli" || (config.programs.antigravity-cli.useLegacyGeminiConfig or false);
    }
    {
      module = "opencode";
      client = "opencode";
      path = "~/.config/opencode/opencode.json";
      root = "mcp";
      entry = opencodeEntry;
      extra = lib.optionalAttrs opencodePolicyOn { permission = opencodePolicy.plain; };
      extraKeys = [ ];
      # aiorch owns the whole value (its order decides): one default, yours wins whole
      whole.permission = opencodePolicy.dag;
      writes = opencodeWritesOurs;
    }
    {
      # Aider has no MCP client; clients/aider.rs adds the instructions aiorch renders to `read`
      # (under aiorch's state directory) and, with the gateway, keys computed from the model
      # registry at run time, which are not handed over (a warning says so)
      module = "aider-chat";
      client = "aider";
      path = "~/.aider.conf.yml";
      root = null;
      entry = null;
      extra.read = [ "${config.xdg.stateHome}/aiorch/generated/instructions/AGENTS.md" ];
      extraKeys = [ "read" ];
      writes = true;
    }
  ];
  moduleOn =
    o:
    cfg.compose.enable
    && options ? programs.${o.module}.settings
    # `isDefined` first: reading a renamed option (gemini-cli on master) would warn everyone
    && options.programs.${o.module}.enable.isDefined
    && config.programs.${o.module}.enable
    && aiorchOn
    && clientMode o.client != "never";
  # composing makes the file a store link: only when the user's settings already do, or the
  # module's own programs.mcp integration does (it writes the file for those servers alone)
  integrationWrites =
    o:
    (config.programs.${o.module}.enableMcpIntegration or false)
    && hasMcp
    && config.programs.mcp.enable
    && config.programs.mcp.servers != { };
  composeOn =
    o:
    moduleOn o && o.writes && (userDefs options.programs.${o.module}.settings != [ ] || integrationWrites o);
  fragmentOf =
    o:
    let
      servers = lib.optionalAttrs (o.root != null) (
        lib.filterAttrs (_: v: v != null) (mapAttrs (_: o.entry) (serversFor o.client))
      );
    in
    o.extra // lib.optionalAttrs (servers != { }) { ${o.root} = servers; };
  fragments = lib.listToAttrs (map (o: lib.nameValuePair o.client (fragmentOf o)) clientModules);
  # what the module system merges: servers whole (a server the user names is theirs), the
  # rest as for Claude. Its keys are known without the rendered config (`extraKeys`): that config
  # lists the files decided from these very definitions.
  asSettings =
    o:
    let
      f = fragments.${o.client};
    in
    lib.optionalAttrs (o.root != null) {
      ${o.root} = mapAttrs (_: mkDefault) (f.${o.root} or { });
    }
    // lib.genAttrs o.extraKeys (k: mkIf (f ? ${k}) (asDefaults f.${k}))
    // mapAttrs (k: v: mkIf (f ? ${k}) (mkDefault v)) (o.whole or { });
  settingsOf = o: let s = config.programs.${o.module}.settings; in if s == null then { } else s;
  # warnings for one composed module: servers the user defines differently, other values
  clientClashes =
    o:
    let
      f = fragments.${o.client};
      merged = settingsOf o;
      root = if o.root == null then "" else o.root;
      servers = f.${root} or { };
    in
    lib.mapAttrsToList (n: _: {
      path = [ root n ];
      server = true;
    }) (filterAttrs (n: v: (merged.${root} or { }).${n} or v != v) servers)
    ++ lib.mapAttrsToList (k: _: {
      path = [ k ];
      whole = true;
    }) (filterAttrs (k: v: f ? ${k} && (merged.${k} or null) != v) (o.whole or { }))
    ++ overridden [ ] (removeAttrs f ([ root ] ++ lib.attrNames (o.whole or { }))) merged;

  # aiorch's instructions as the binary composes them (agentsmd/mod.rs composed_instructions):
  # the tree's AGENTS.md, then each rules/**/*.md (by path; dot files left out) after a line
  # `<!-- aiorch: rules/NAME -->`. null for a live checkout (a string source pure evaluation
  # cannot read). The `fixtures` check and the Rust test nix_fixtures hold it to the binary.
  treeRoot =
    let
      s = cfg.agentsmd.source;
    in
    if s == null then
      ../agentsmd
    else if builtins.isPath s then
      s
    else if lib.isStorePath s then
      "${s}"
    else
      null;
  instructionsText =
    let
      at = rel: if builtins.isPath treeRoot then treeRoot + "/${rel}" else "${treeRoot}/${rel}";
      read = rel: if builtins.pathExists (at rel) then builtins.readFile (at rel) else "";
      rulesDir = at "rules";
      rules = lib.optionals (builtins.pathExists rulesDir) (
        lib.sort (a: b: a < b) (
          filter (r: lib.hasSuffix ".md" r && builtins.match "(.*/)?[.].*" r == null) (
            map (f: "rules/" + lib.removePrefix "${toString rulesDir}/" (toString f)) (
              lib.filesystem.listFilesRecursive rulesDir
            )
          )
        )
      );
      add = acc: r: (if lib.hasSuffix "\n" acc then acc else acc + "\n") + "\n<!-- aiorch: ${r} -->\n" + read r;
    in
    if treeRoot == null then null else builtins.foldl' add (read "AGENTS.md") rules;

  # The client modules' instructions options, which write the AGENTS.md aiorch links there: text
  # goes into that file's home.file / xdg.configFile `text` (a path into `source`). `text` is
  # `lines`, so when all of the user's definitions are text, aiorch's instructions join theirs
  # there, after them (mkAfter: a stable order), and the file carries both (doctor finds aiorch's
  # text in it, whole). The option itself cannot take them: whether the user's is text or a path
  # (either type) is read from its definitions, which a definition of aiorch's would be part of.
  # A path of the user's is not joined: the file is Nix's, with a warning that the client reads
  # theirs instead of aiorch's. The list is known from the options (it shapes definitions).
  instructionOptions =
    lib.optional (options ? programs.codex.settings) {
      cm = lib.head clientModules;
      module = "codex";
      option = [ (if options.programs.codex ? context then "context" else "custom-instructions") ];
      path = "${codexDir}/AGENTS.md";
      # programs.codex's own home.file name (xdg.configHome relative to the home, with its "/")
      file = [
        "home"
        "file"
        "${
          if shared.codexXdg config then
            "${lib.removePrefix config.home.homeDirectory config.xdg.configHome}/codex"
          else
            ".codex"
        }/AGENTS.md"
      ];
    }
    ++ lib.optional (options ? programs.${geminiModule}.context) {
      cm = lib.elemAt clientModules 1;
      module = geminiModule;
      option = [
        "context"
        "AGENTS"
      ];
      path = "~/.gemini/AGENTS.md";
      file = [
        "home"
        "file"
        ".gemini/AGENTS.md"
      ];
    }
    ++ lib.optional (options ? programs.opencode.settings) {
      cm = lib.elemAt clientModules 2;
      module = "opencode";
      option = [ (if options.programs.opencode ? context then "context" else "rules") ];
      path = "~/.config/opencode/AGENTS.md";
      file = [
        "xdg"
        "configFile"
        "opencode/AGENTS.md"
      ];
    };
  instructionFiles = map (
    i:
    let
      defs = filter (d: d.file != toString ./compose.nix) options.programs.${i.module}.${lib.head i.option}.definitionsWithLocations;
      # the user's values, through mkIf / mkMerge (a renamed option's alias definition is one);
      # at another priority (mkForce, mkDefault) one does not join: not text
      plain =
        v:
        if (v._type or null) == "if" then
          lib.optionals v.condition (plain v.content)
        else if (v._type or null) == "merge" then
          lib.concatMap plain v.contents
        else if v ? _type then
          [ null ]
        else
          [ v ];
      vals =
        if lib.length i.option == 1 then
          lib.concatMap (d: plain d.value) defs
        else
          lib.concatMap (v: if isAttrs v then lib.concatMap plain (optional (v ? AGENTS) v.AGENTS) else [ null ]) (
            lib.concatMap (d: plain d.value) defs
          );
      value = attrByPath ([ "programs" i.module ] ++ i.option) "" config;
    in
    i
    // {
      by = "programs.${i.module}.${concatStringsSep "." i.option}";
      on = moduleOn i.cm && value != "" && value != null;
      composed =
        moduleOn i.cm && instructionsText != null && lib.all builtins.isString vals && lib.any (v: v != "") vals;
    }
  ) instructionOptions;
  instructionsManaged = filter (i: i.on) instructionFiles;

  # --- aiorch's commands for Gemini CLI and OpenCode (agentsmd/command.rs, read in Nix) ---------
  # A command file: Claude's format, YAML frontmatter between `---` lines, `$ARGUMENTS` in the
  # body. Its description: the frontmatter's `description` as a plain, "double-" or
  # 'single-quoted' one-line scalar, else (no such key) the body's first non-empty line without
  # its leading #s, else the name. A form only the binary reads (a block scalar, a value that is
  # not a string, …) gives null: that command is left to `aiorch apply`, which writes it beside
  # home-manager's files.
  parseCommand =
    name:
    let
      text = builtins.readFile (treeCommandsDir + "/${name}.md");
      lines = lib.splitString "\n" text;
      isFence = l: builtins.match "---[ \t]*\r*" l != null;
      close = lib.lists.findFirstIndex isFence null (lib.drop 1 lines);
      front = lib.length lines > 1 && isFence (lib.head lines);
      yaml = if front && close != null then lib.sublist 1 close lines else [ ];
      body = if front && close != null then concatStringsSep "\n" (lib.drop (close + 2) lines) else text;
      at = lib.lists.findFirstIndex (l: lib.hasPrefix "description:" l) null yaml;
      raw = lib.trim (lib.removePrefix "description:" (lib.elemAt yaml at));
      continued = at != null && at + 1 < lib.length yaml && builtins.match "[ \t].*" (lib.elemAt yaml (at + 1)) != null;
      double = builtins.match ''("([^"\\]|\\["\\/bfnrt])*")([ \t]+#.*)?'' raw;
      single = builtins.match "'(([^']|'')*)'([ \t]+#.*)?" raw;
      plain =
        builtins.match "[^]?:,[{}#&*!|>'\"%@`\t -].*" raw != null
        && !(lib.hasInfix ": " raw)
        && !(lib.hasInfix " #" raw)
        && !(lib.hasInfix "\t#" raw)
        && builtins.match "(true|false|True|False|TRUE|FALSE|null|Null|NULL|~|[-+.0-9].*)" raw == null;
      firstLine = lib.findFirst (l: lib.trim l != "") null (lib.splitString "\n" body);
      description =
        if front && close == null then
          null
        else if at == null then
          if firstLine == null then name else lib.trim (lib.head (builtins.match "#*(.*)" (lib.trim firstLine)))
        else if continued then
          null
        else if double != null then
          builtins.fromJSON (lib.head double)
        else if single != null then
          builtins.replaceStrings [ "''" ] [ "'" ] (lib.head single)
        else if plain then
          raw
        else
          null;
    in
    if description == null then
      null
    else
      {
        # clients/gemini.rs: `commands/NAME.toml`, `{{args}}` for `$ARGUMENTS`
        gemini = {
          inherit description;
          prompt = builtins.replaceStrings [ "$ARGUMENTS" ] [ "{{args}}" ] body;
        };
        # clients/opencode.rs: `commands/NAME.md`, the provenance line a YAML comment
        opencode =
          "---\n# Rendered by aiorch from agentsmd/commands/${name}.md. Edit the source, then run "
          + "`aiorch apply`.\ndescription: ${builtins.toJSON description}\n---\n${body}";
      };
  parsedCommands = lib.filterAttrs (_: c: c != null) (lib.genAttrs treeCommands parseCommand);
  commandsFragments = {
    gemini = mapAttrs (_: c: c.gemini) parsedCommands;
    opencode = mapAttrs (_: c: c.opencode) parsedCommands;
  };

  # Gemini CLI's and OpenCode's commands: when the user has commands in that module's
  # `commands` (names), aiorch's join them there, one default per name (a name of the user's
  # wins, with a warning), and each file is Nix's (home-manager re-renders Gemini's TOML: doctor
  # compares the parsed document). OpenCode's `commands` is either names or a directory (path),
  # and which one the user gave is read from its definitions: aiorch's go into the files that
  # option writes (xdg.configFile."opencode/commands/NAME.md"), as the module would write them.
  # release-25.11's programs.opencode writes command/NAME.md, beside aiorch's commands/NAME.md:
  # only clashes are handled there.
  geminiWrites = moduleOn (lib.elemAt clientModules 1) && (lib.elemAt clientModules 1).writes;
  hasGeminiCommands = options ? programs.${geminiModule}.commands;
  geminiUserCommands = lib.optionals hasGeminiCommands (userNames options.programs.${geminiModule}.commands);
  geminiCommandsComposed = geminiWrites && geminiUserCommands != [ ];
  opencodeCommands = config.programs.opencode.commands or { };
  opencodeOn = moduleOn (lib.elemAt clientModules 2) && opencodeWritesOurs;
  opencodeUserCommands = lib.optionals (options ? programs.opencode.commands) (
    userNames options.programs.opencode.commands
  );
  opencodeCommandsComposed =
    opencodeOn && builtins.isAttrs opencodeCommands && !lib.isStorePath opencodeCommands && opencodeUserCommands != [ ];
  commandFiles =
    lib.optionals (geminiWrites && hasGeminiCommands) (
      map (n: {
        path = "~/.gemini/commands/${n}.toml";
        by = "programs.${geminiModule}.commands.${n}";
        name = n;
        clash = elem n geminiUserCommands;
      }) (if geminiCommandsComposed then lib.unique (lib.attrNames parsedCommands ++ lib.intersectLists geminiUserCommands treeCommands) else [ ])
    )
    ++ lib.optionals opencodeOn (
      if builtins.isPath opencodeCommands || lib.isStorePath opencodeCommands then
        [
          {
            path = "~/.config/opencode/commands";
            by = "programs.opencode.commands";
            name = null;
            clash = true;
          }
        ]
      else
        map (n: {
          path = "~/.config/opencode/commands/${n}.md";
          by = "programs.opencode.commands.${n}";
          name = n;
          clash = elem n opencodeUserCommands;
        }) (
          lib.unique (
            lib.optionals opencodeCommandsComposed (lib.attrNames parsedCommands)
            ++ lib.intersectLists (lib.attrNames opencodeCommands) treeCommands
          )
        )
    );

  # --- programs.mcp -----------------------------------------------------------------------------
  hasMcp = options ? programs.mcp.servers;
  mcpOn = cfg.compose.enable && hasMcp && config.programs.mcp.enable;
  # Claude gets programs.mcp through home-manager itself when its integration is on (master)
  claudeGetsMcp = claudeOn && (config.programs.claude-code.enableMcpIntegration or false);
  managedClients = [
    "claude"
    "gemini"
    "codex"
    "copilot"
  ];
  # one programs.mcp server in aiorch's registry schema (docs/config-contract.md [mcp.servers])
  fromProgramsMcp =
    name: s:
    let
      env = s.env or { };
      literal = filterAttrs (_: v: builtins.isString v) env;
      files = filterAttrs (_: v: isAttrs v && v ? file) env;
      # `{ file = …; }` values are read when the server starts: a small sh wrapper exports them
      # and execs the server (`$0` is the command, `$@` its arguments)
      fileWrapper = concatStringsSep "; " (
        lib.mapAttrsToList (n: v: ''export ${n}="$(cat -- ${lib.escapeShellArg v.file})"'') files
        ++ [ ''exec "$0" "$@"'' ]
      );
      stdio =
        if files == { } then
          {
            inherit (s) command;
            args = s.args or [ ];
          }
        else
          {
            command = "/bin/sh";
            args = [
              "-c"
              fileWrapper
              s.command
            ]
            ++ s.args or [ ];
          };
    in
    filterAttrs (_: v: v != null && v != [ ] && v != { }) (
      (
        if (s.command or null) != null then
          stdio // { env = literal; }
        else
          {
            url = s.url or null;
            headers = s.headers or { };
            transport = if (s.type or "") == "sse" then "sse" else null;
          }
      )
      // {
        secrets = cfg.mcp.secrets.${name} or [ ];
        clients = if claudeGetsMcp then lib.remove "claude" managedClients else null;
      }
    );
  enabledServer = s: (s.enabled or null) != false && (s.disabled or false) != true;
  # names the user (not this module) gives programs.mcp.servers
  userMcpNames = lib.optionals hasMcp (userNames options.programs.mcp.servers);
  clashes = lib.intersectLists userMcpNames (lib.attrNames cfg.mcpServers);
  imported = lib.optionalAttrs mcpOn (
    mapAttrs fromProgramsMcp (
      filterAttrs (n: s: !(cfg.mcpServers ? ${n}) && enabledServer s) config.programs.mcp.servers
    )
  );
  # aiorch's servers published into programs.mcp reach Claude through home-manager when its
  # integration is on: aiorch then registers them for its other clients only
  publishedToClaude = lib.optionalAttrs (mcpOn && cfg.mcp.publish && claudeGetsMcp) (
    mapAttrs (_: s: s // { clients = lib.remove "claude" (s.clients or managedClients); }) (
      removeAttrs cfg.mcpServers userMcpNames
    )
  );
  # aiorch's own servers in programs.mcp's schema (secrets through `aiorch secrets exec`)
  toProgramsMcp =
    s:
    let
      secrets = s.secrets or [ ];
      wrapped =
        if secrets == [ ] then
          {
            inherit (s) command;
            args = s.args or [ ];
          }
        else
          {
            command = lib.getExe cfg.package;
            args = [
              "secrets"
              "exec"
              "--only"
              (concatStringsSep "," secrets)
              "--"
              s.command
            ]
            ++ s.args or [ ];
          };
    in
    if (s.command or null) != null then
      wrapped // lib.optionalAttrs ((s.env or { }) != { }) { inherit (s) env; }
    else
      {
        inherit (s) url;
      }
      // lib.optionalAttrs ((s.headers or { }) != { }) { inherit (s) headers; };

  # programs.claude-code.mcpServers reach Claude through a wrapper's --mcp-config; aiorch
  # registers its servers in ~/.claude.json (not a Nix file), so it does not compose them there,
  # but a name in both would be two servers
  claudeMcpClashes = lib.optionals (claudeOn && options ? programs.claude-code.mcpServers) (
    lib.intersectLists (lib.attrNames config.programs.claude-code.mcpServers) (lib.attrNames (serversFor "claude"))
  );

  nixManaged =
    optional claudeOn {
      path = "~/.claude/settings.json";
      by = "programs.claude-code";
    }
    ++ optionals claudeOn claudeFiles
    ++ map (o: {
      inherit (o) path;
      by = "programs.${o.module}";
    }) (filter composeOn clientModules)
    ++ map (i: { inherit (i) path by; }) instructionsManaged
    ++ map (i: { inherit (i) path by; }) commandFiles;
in
{
  options.programs.aiorch = {
    compose.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Live beside home-manager's own client modules: with `programs.claude-code` enabled,
        aiorch's permission policy, marketplaces and plugins go into
        `programs.claude-code.settings` (merged with yours: your value wins, with a warning),
        and its commands into `programs.claude-code.commands` when you have commands there;
        with settings of yours in `programs.codex`, `programs.gemini-cli`, `programs.opencode`
        or `programs.aider-chat`, aiorch's MCP servers (and context names, OpenCode's
        permission policy, Codex's gateway provider, Aider's `read`) go into theirs. Files
        those modules write are listed in the rendered config's `apply.nix_managed` so
        `aiorch apply` leaves them alone. With `programs.mcp` enabled, its servers join
        aiorch's MCP registry. Off: none of this.
      '';
    };
    mcp = {
      secrets = mkOption {
        type = types.attrsOf (types.listOf types.str);
        default = { };
        example = {
          github = [ "GITHUB_TOKEN" ];
        };
        description = ''
          Secrets (names) a `programs.mcp.servers` server needs: aiorch starts it through
          `aiorch secrets exec --only NAMES`, so the values live only in its environment.
        '';
      };
      publish = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Also publish `programs.aiorch.mcpServers` into `programs.mcp.servers`, for
          home-manager's consumers of it (clients with `enableMcpIntegration`). A server is
          defined once: names programs.mcp already has are not published, and aiorch does not
          register programs.mcp's servers in Claude when home-manager already gives them to it
          (`programs.claude-code.enableMcpIntegration`).
        '';
      };
    };
    nixManaged = mkOption {
      type = types.listOf (types.attrsOf types.str);
      internal = true;
      default = [ ];
      description = "`apply.nix_managed` of the rendered config: files Nix writes.";
    };
    importedMcpServers = mkOption {
      type = types.attrsOf (types.attrsOf shared.jsonValue);
      internal = true;
      default = { };
      description = "programs.mcp's servers in aiorch's registry schema (and aiorch's own, where they change).";
    };
    clientSettingsFragments = mkOption {
      type = types.attrsOf (types.attrsOf shared.jsonValue);
      internal = true;
      readOnly = true;
      default = fragments;
      description = "What aiorch would merge into Codex's, Gemini CLI's and OpenCode's settings files, per client.";
    };
    commandsFragments = mkOption {
      type = types.attrsOf (types.attrsOf shared.jsonValue);
      internal = true;
      readOnly = true;
      default = commandsFragments;
      description = "aiorch's commands as Gemini CLI's and OpenCode's modules take them (those Nix can read).";
    };
    instructionsText = mkOption {
      type = types.nullOr types.str;
      internal = true;
      readOnly = true;
      default = instructionsText;
      description = "aiorch's instructions as the binary composes them (joined to a client module's own).";
    };
    claudeSettingsFragment = mkOption {
      type = types.attrsOf shared.jsonValue;
      internal = true;
      readOnly = true;
      default = claudeFragment;
      description = "What aiorch would merge into ~/.claude/settings.json (handed to programs.claude-code).";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      programs.aiorch.nixManaged = nixManaged;
      programs.aiorch.importedMcpServers = imported // publishedToClaude;
    }

    (lib.optionalAttrs hasClaudeModule {
      programs.claude-code.settings = mkIf claudeOn (asDefaults claudeFragment);
    })

    # names known from the tree; whether to add them is per name (the condition reads the
    # option's own definitions)
    (lib.optionalAttrs hasClaudeCommands {
      programs.claude-code.commands = mkIf claudeOn (
        lib.genAttrs treeCommands (
          n: mkIf commandsComposed (mkDefault (builtins.readFile (treeCommandsDir + "/${n}.md")))
        )
      );
    })

    # the user's instructions (text) in a client module's option: aiorch's follow them in its file
    (mkMerge (
      map (
        i: lib.setAttrByPath (lib.init i.file) { ${lib.last i.file} = mkIf i.composed { text = lib.mkAfter instructionsText; }; }
      ) instructionFiles
    ))

    # aiorch's commands beside the user's in Gemini CLI's `commands` (names known from the tree;
    # whether to add them is per name, read from the option's own definitions)
    (lib.optionalAttrs hasGeminiCommands {
      programs.${geminiModule}.commands = mkIf geminiWrites (
        mapAttrs (n: c: mkIf geminiCommandsComposed (mkDefault c)) commandsFragments.gemini
      );
    })
    # … and in the files OpenCode's `commands` writes (names of the user's stay theirs)
    {
      xdg.configFile = lib.mapAttrs' (
        n: text:
        lib.nameValuePair "opencode/commands/${n}.md" (
          mkIf (opencodeCommandsComposed && !elem n opencodeUserCommands) { inherit text; }
        )
      ) commandsFragments.opencode;
    }

    # each module's settings get aiorch's part, only while the user's settings make the file Nix's
    # (per module: an option of a module home-manager does not have is not defined). Whether the
    # user set settings is read from the option's definitions, so the condition sits on each key:
    # a condition on the whole definition would be evaluated while those definitions are listed.
    (mkMerge (
      map (
        o:
        lib.optionalAttrs (options ? programs.${o.module}.settings) {
          programs.${o.module}.settings = mkIf (moduleOn o && o.writes) (
            mapAttrs (_: mkIf (composeOn o)) (asSettings o)
          );
        }
      ) clientModules
    ))

    (lib.optionalAttrs hasMcp {
      # names the user gives programs.mcp stay theirs (a per-name condition: the names of this
      # definition must not depend on the other definitions)
      programs.mcp.servers = mkIf (mcpOn && cfg.mcp.publish) (
        mapAttrs (n: s: mkIf (!elem n userMcpNames) (toProgramsMcp s)) cfg.mcpServers
      );
    })

    {
      warnings =
        lib.optionals claudeOn (
          map (
            o:
            "programs.aiorch: programs.claude-code.settings.${showPath o.path} is ${builtins.toJSON o.have}, "
            + "which overrides aiorch's ${builtins.toJSON o.want}. Yours is kept; to use aiorch's, remove it "
            + "from programs.claude-code.settings (or change it through programs.aiorch)."
          ) (overridden [ ] claudeFragment config.programs.claude-code.settings)
        )
        ++ lib.optional (claudeOn && policyOn && policySource == null) (
          "programs.aiorch: agentsmd.source is a string (a live checkout), whose permissions/policy.toml "
          + "cannot be read while Nix evaluates, so programs.claude-code.settings does not get aiorch's "
          + "permission policy. Give programs.aiorch.agentsmd.source as a Nix path, or set "
          + "programs.aiorch.settings.policy.clients.claude = false."
        )
        ++ lib.optional (claudeOn && claudeMdText != null && !(lib.hasInfix "@AGENTS.md" claudeMdText)) (
          "programs.aiorch: ${claudeMdOption} writes ~/.claude/CLAUDE.md, which aiorch leaves alone; add a line "
          + "`@AGENTS.md` to it so Claude reads aiorch's instructions (~/.claude/AGENTS.md)."
        )
        ++ lib.optional (claudeOn && commandsDir != null && treeCommands != [ ]) (
          "programs.aiorch: programs.claude-code.commandsDir makes ~/.claude/commands Nix's; aiorch leaves it "
          + "alone, so Claude lacks aiorch's commands (${concatStringsSep ", " treeCommands}) unless that "
          + "directory has them."
        )
        ++ map (
          n:
          "programs.aiorch: programs.claude-code.commands.${n} replaces aiorch's /${n} command; aiorch leaves "
          + "~/.claude/commands/${n}.md alone. Rename one of them to keep both."
        ) (lib.optionals (claudeOn && commandsDir == null) commandClashes)
        ++ lib.concatMap (
          o:
          map (
            c:
            if c.server or false then
              "programs.aiorch: programs.${o.module}.settings.${showPath c.path} is your own server, so "
              + "${o.client} does not get aiorch's server of that name. Rename one of them to keep both."
            else if c.whole or false then
              "programs.aiorch: programs.${o.module}.settings.${showPath c.path} is yours, so ${o.client} does "
              + "not get aiorch's (its permission policy). Remove it to use aiorch's, or set "
              + "programs.aiorch.settings.policy.clients.${o.client} = false."
            else
              "programs.aiorch: programs.${o.module}.settings.${showPath c.path} is ${builtins.toJSON c.have}, "
              + "which overrides aiorch's ${builtins.toJSON c.want}. Yours is kept; to use aiorch's, remove it "
              + "from programs.${o.module}.settings."
          ) (clientClashes o)
        ) (filter composeOn clientModules)
        ++ lib.optional
          (
            composeOn (lib.elemAt clientModules 2)
            && (final.policy.enable or true)
            && (final.policy.clients.opencode or true)
            && policySource == null
          )
          (
            "programs.aiorch: agentsmd.source is a string (a live checkout), whose permissions/policy.toml "
            + "cannot be read while Nix evaluates, so programs.opencode.settings does not get aiorch's "
            + "permission policy. Give programs.aiorch.agentsmd.source as a Nix path, or set "
            + "programs.aiorch.settings.policy.clients.opencode = false."
          )
        ++ lib.optional (composeOn (lib.elemAt clientModules 3)) (
          "programs.aiorch: programs.aider-chat.settings makes ~/.aider.conf.yml Nix's; aiorch's instructions "
          + "join its `read`, but the gateway's `openai-api-base` and `alias` (when aiorch's gateway is on) "
          + "come from the model registry at run time and are not handed over: copy them from "
          + "`aiorch render --client aider` into programs.aider-chat.settings if you use the gateway."
        )
        ++ map (
          f:
          if f.name == null then
            "programs.aiorch: ${f.by} makes ${f.path} Nix's; aiorch leaves it alone, so that client lacks "
            + "aiorch's commands unless that directory has them."
          else
            "programs.aiorch: ${f.by} replaces aiorch's /${f.name} command; aiorch leaves ${f.path} alone. "
            + "Rename one of them to keep both."
        ) (filter (f: f.clash) commandFiles)
        ++ map (
          i:
          "programs.aiorch: ${i.by} writes ${i.path}, which aiorch leaves alone, so that client reads your "
          + "instructions there instead of aiorch's (agentsmd): "
          + (
            if instructionsText == null then
              "agentsmd.source is a string (a live checkout), which Nix cannot read to join aiorch's to yours. "
            else
              "yours is a file, which cannot be joined with aiorch's. "
          )
          + "Give ${i.by} as text (aiorch's instructions then follow yours in that file), or remove it."
        ) (filter (i: !i.composed) instructionsManaged)
        ++ lib.optional (claudeMcpClashes != [ ]) (
          "programs.aiorch: programs.claude-code.mcpServers."
          + concatStringsSep ", " claudeMcpClashes
          + " is also one of aiorch's servers, which aiorch registers in ~/.claude.json: Claude would get "
          + "two servers of that name. Rename or remove one of them (or set its `clients` in "
          + "programs.aiorch.mcpServers without claude)."
        )
        ++ lib.optional (mcpOn && clashes != [ ]) (
          "programs.aiorch: programs.aiorch.mcpServers."
          + concatStringsSep ", " clashes
          + " is also in programs.mcp.servers; aiorch's definition is used for the clients aiorch manages "
          + "and programs.mcp's for home-manager's consumers. Rename or remove one of them."
        );
    }
  ]);
}
