# home-manager module: programs.aiorch
#
# Renders one JSON config (docs/config-contract.md) into the Nix store, runs
# `aiorch apply --config <it>` from home.activation after writeBoundary (and after the
# generation's files are linked), and runs every enabled service as a launchd agent (macOS)
# or a systemd user service (Linux) with `aiorch service run NAME`.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  shared = import ./options.nix { inherit lib pkgs; };
  cfg = config.programs.aiorch;
  inherit (pkgs.stdenv.hostPlatform) isDarwin isLinux;
  home = config.home.homeDirectory;

  path = shared.searchPath {
    inherit cfg home isDarwin;
    user = config.home.username;
    profileBins = [ "${config.home.path}/bin" ];
  };
  units = shared.serviceUnits { inherit cfg path; };
in
{
  # aiorch beside home-manager's own client modules and programs.mcp
  imports = [ ./compose.nix ];

  options.programs.aiorch = shared.mkOptions {
    inherit cfg;
    prefix = "programs.aiorch";
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        home.packages = [ cfg.package ];

        # `aiorch doctor`, `aiorch go`, … in a shell read the same config as the activation.
        home.sessionVariables.AIORCH_CONFIG = "${cfg.configFile}";

        home.activation.aiorch = lib.mkIf cfg.activation.enable (
          lib.hm.dag.entryAfter [ "writeBoundary" "linkGeneration" ] (
            shared.applyScript {
              inherit cfg path;
              environment = shared.applyEnvironment config;
            }
          )
        );
      }

      (lib.mkIf isDarwin {
        launchd.agents = lib.mapAttrs (unit: u: {
          enable = true;
          config = shared.launchdConfig home unit u;
        }) units;
      })

      (lib.mkIf isLinux {
        systemd.user.services = lib.mapAttrs (_: shared.systemdUnit) units;
      })
    ]
  );
}
