#!/usr/bin/env bash
# Builds the x86_64 Linux release archive (`make dist`):
#
#   dist/migrate-VERSION-x86_64-linux.tar.gz   the directory migrate-VERSION-x86_64-linux/ with
#                                              `migrate` (static, stripped), README.md,
#                                              LICENSE, CHANGELOG.md
#   dist/SHA256SUMS                            `sha256sum -c SHA256SUMS` checks the archive
#
# The binary is linked statically against glibc (static-pie): it needs no C library where
# it runs, so it starts on any x86_64 Linux and in an image `FROM scratch`. `--target` keeps
# RUSTFLAGS off the build scripts and proc-macros, which must stay dynamic to run here.
# VERSION is Cargo.toml's, and the script fails unless the binary's `-version` prints it.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
name=migrate-$version-x86_64-linux

RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target"
bin=target/$target/release/migrate

fail() { echo "dist: $*" >&2; exit 1; }
# A static-pie binary has a dynamic section (for its own relocations) but needs no library:
# no DT_NEEDED entry, no interpreter, and ldd says "statically linked".
if readelf -d "$bin" | grep -q '(NEEDED)' || readelf -l "$bin" | grep -q 'INTERP'; then
  fail "$bin is dynamically linked: $(ldd "$bin" 2>&1 | tr '\n' ' ')"
fi
case $(ldd "$bin" 2>&1) in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) fail "ldd lists libraries for $bin: $(ldd "$bin" 2>&1 | tr '\n' ' ')" ;;
esac
printed=$("$bin" -version 2>&1)
[ "$printed" = "$version" ] || fail "$bin -version prints '$printed', the archive says $version"

rm -rf "dist/$name" "dist/$name.tar.gz" dist/SHA256SUMS
mkdir -p "dist/$name"
cp "$bin" "dist/$name/migrate"
strip "dist/$name/migrate"
cp README.md LICENSE CHANGELOG.md "dist/$name/"
# The same inputs give the same archive: sorted names, no owner, the commit's time.
mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
  -C dist -cf - "$name" | gzip -n -9 >"dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" >SHA256SUMS)
echo "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1)), binary $(du -h "dist/$name/migrate" | cut -f1)"
cat dist/SHA256SUMS
