#!/bin/sh
# Makes the Debian root the package test (shim-linux/tests/package_real.rs) installs
# the .deb into: bookworm from Debian's mirrors with mmdebstrap (about 2 minutes, once;
# `.ci/run` runs it before the tests), as a tarball, with the tools the test needs
# (adduser, man-db, systemd for `systemd-analyze verify`, bash-completion), the
# libraries uml-utilities needs, and uml-utilities' own .deb in /root so that the
# test can install the original first and ours over it.
#
#   packaging/make-test-root.sh target/pkgtest/bookworm-base.tar.zst
set -eu
out=${1:?usage: make-test-root.sh <output .tar.zst>}
[ -e "$out" ] && exit 0
mkdir -p "$(dirname "$out")"
tmp="$out.partial.tar.zst"
rm -f "$tmp"
echo "making the Debian root for the package test (mmdebstrap bookworm, about 2 minutes): $out" >&2
mmdebstrap --quiet --variant=apt \
    --include=adduser,man-db,systemd,bash-completion,libfuse2,libreadline8,lsb-base \
    --customize-hook='chroot "$1" sh -c "cd /root && apt-get download -q uml-utilities"' \
    bookworm "$tmp"
mv "$tmp" "$out"
