# The aiorch binary, built from Cargo.lock. Shell completions and the man page come from the
# binary itself (`aiorch completions SHELL`, `aiorch man`).
{
  lib,
  stdenv,
  rustPlatform,
  installShellFiles,
}:
let
  root = ../.;
  cargoToml = lib.importTOML ../Cargo.toml;
  # build results left by `nix build` in the checkout: result, result-man, …
  results = lib.mapAttrsToList (name: _: root + "/${name}") (
    lib.filterAttrs (name: _: lib.hasPrefix "result" name) (builtins.readDir root)
  );
in
rustPlatform.buildRustPackage {
  pname = "aiorch";
  inherit (cargoToml.package) version;

  # Everything but build output, VCS data and the Nix packaging itself (so editing a module
  # does not rebuild the binary). nix/tests/fixtures stays: the Rust tests read it.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.difference root (
      lib.fileset.unions (
        [
          (lib.fileset.maybeMissing ../target)
          (lib.fileset.maybeMissing ../.git)
          (lib.fileset.maybeMissing ../.direnv)
          (lib.fileset.maybeMissing ../flake.nix)
          (lib.fileset.maybeMissing ../flake.lock)
          (lib.fileset.difference ./. (lib.fileset.maybeMissing ./tests/fixtures))
        ]
        ++ results
      )
    );
  };

  cargoLock.lockFile = ../Cargo.lock;

  nativeBuildInputs = [ installShellFiles ];

  # The test suite is run by CI with `cargo test` (its hermetic TestEnv drives real client
  # CLIs and services that the build sandbox does not have); the package only builds.
  doCheck = false;

  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    export HOME="$(mktemp -d)"
    installShellCompletion --cmd aiorch \
      --bash <("$out/bin/aiorch" completions bash) \
      --fish <("$out/bin/aiorch" completions fish) \
      --zsh <("$out/bin/aiorch" completions zsh)
    "$out/bin/aiorch" man > aiorch.1
    installManPage aiorch.1
  '';

  meta = {
    description = cargoToml.package.description;
    license = lib.licenses.mit;
    mainProgram = "aiorch";
    platforms = lib.platforms.unix;
  };
}
