{
  description = "aiorch: one config for every AI coding assistant, with a multi-model runtime";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    home-manager = {
      url = "github:nix-community/home-manager/release-25.11";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    nix-darwin = {
      url = "github:nix-darwin/nix-darwin/nix-darwin-25.11";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      home-manager,
      nix-darwin,
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: _prev: { aiorch = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (
        _system: pkgs: rec {
          aiorch = pkgs.callPackage ./nix/package.nix { };
          default = aiorch;
        }
      );

      apps = forAllSystems (
        system: pkgs:
        let
          aiorch = self.packages.${system}.default;
          ai-go = pkgs.writeShellScriptBin "ai-go" ''exec ${lib.getExe aiorch} go "$@"'';
        in
        {
          default = {
            type = "app";
            program = lib.getExe aiorch;
            meta.description = "aiorch: apply, doctor, services and the orchestration runtime";
          };
          ai-go = {
            type = "app";
            program = "${ai-go}/bin/ai-go";
            meta.description = "aiorch go: the autonomous entry point (aiorch go [--local] [--agent …] [TASK])";
          };
        }
      );

      homeManagerModules = rec {
        aiorch = ./nix/hm-module.nix;
        default = aiorch;
      };
      # the name flake-parts' home-manager module uses
      homeModules = self.homeManagerModules;

      darwinModules = rec {
        aiorch = ./nix/darwin-module.nix;
        default = aiorch;
      };

      checks = forAllSystems (
        system: _pkgs:
        import ./nix/tests {
          inherit
            self
            nixpkgs
            home-manager
            nix-darwin
            system
            ;
        }
      );

      formatter = forAllSystems (_system: pkgs: pkgs.nixfmt-tree);

      devShells = forAllSystems (
        system: pkgs: {
          default = pkgs.mkShell {
            inputsFrom = [ self.packages.${system}.default ];
            packages = [
              pkgs.cargo
              pkgs.clippy
              pkgs.rustfmt
              pkgs.rust-analyzer
              pkgs.nixfmt
            ];
          };
        }
      );
    };
}
