#!/bin/sh
# Regenerates the man pages and completion scripts made from umlnet's clap definitions
# (packaging/man/umlnet*.1, packaging/completions/*), after a change to umlnet's
# options or help. shim-linux/tests/packaging_assets.rs fails until they are current.
set -eu
cd "$(dirname "$0")/.."
cargo build -q -p umlnet-linux --bin umlnet
umlnet=${CARGO_TARGET_DIR:-target}/debug/umlnet
rm -f packaging/man/umlnet*.1
"$umlnet" manpages packaging/man >/dev/null
"$umlnet" completions bash > packaging/completions/umlnet.bash
"$umlnet" completions zsh > packaging/completions/_umlnet
"$umlnet" completions fish > packaging/completions/umlnet.fish
