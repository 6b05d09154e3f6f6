#!/usr/bin/env bash
# Safety at scale: what the SQLite check and backup cost on large databases, against
# `cp` + `sync` of the same file, and what a reused backup costs. Prints a Markdown
# section (the one in BENCHMARKS.md under "Safety at scale"). One run per row, timed
# with /usr/bin/time (wall seconds, peak RSS). Never part of `make test`.
#
#   bash scripts/bench-scale.sh                  # 1 GB and 5 GB, rollback and WAL
#   SIZES_MB="1024" bash scripts/bench-scale.sh  # 1 GB only
#
# A size is skipped, with a message, when the disk cannot hold the database, its backup
# and a `cp` of it (three times its size).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES_MB=${SIZES_MB:-"1024 5120"}
MODES=${MODES:-"delete wal"}
BENCH_DIR=${BENCH_DIR:-/tmp}
work=$(mktemp -d "$BENCH_DIR/migrate-bench-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT

command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
bin=$PWD/target/release/migrate

mkdir -p "$work/m"
echo 'CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB);' > "$work/m/1_big.up.sql"
echo 'DROP TABLE big;' > "$work/m/1_big.down.sql"
echo 'CREATE TABLE small (x INTEGER);' > "$work/m/2_small.up.sql"
echo 'DROP TABLE small;' > "$work/m/2_small.down.sql"
mkdir -p "$work/f"
cp "$work/m/1_big."* "$work/f/"
printf 'CREATE TABLE c (x INTEGER);\nCREAT TABLE d (x INTEGER);\n' > "$work/f/2_broken.up.sql"
echo 'DROP TABLE c;' > "$work/f/2_broken.down.sql"

# t LABEL CMD...: runs CMD once; prints "LABEL|seconds|peak KiB".
t() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
  read -r secs kib < <(tail -1 "$work/time")
  echo "$label|$secs|$kib"
}

echo "## Safety at scale (issue 21)"
echo
echo "\`scripts/bench-scale.sh\` on $(uname -m), $(nproc) cores, file system $(stat -f -c %T "$work"), $(date -u +%Y-%m-%d)."
echo "One run per row: wall seconds and peak RSS of the process (/usr/bin/time)."
echo
echo "| size | journal mode | run | seconds | peak RSS (MiB) |"
echo "|---|---|---|---:|---:|"
for mb in $SIZES_MB; do
  free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if [ $((free_kb / 1024)) -lt $((mb * 3 + 512)) ]; then
    echo "| ${mb} MiB | | skipped: $((free_kb / 1024)) MiB free, needs $((mb * 3 + 512)) MiB | | |"
    continue
  fi
  for mode in $MODES; do
    db=$work/db.sqlite
    rm -f "$db"* "$work"/db.sqlite.backup-* "$work/copy"
    url="sqlite3://$db"
    "$bin" -path "$work/m" -database "$url" -no-backup up 1 2>/dev/null
    sqlite3 "$db" "PRAGMA journal_mode=$mode; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $mb) INSERT INTO big (b) SELECT randomblob(1048576) FROM n;" >/dev/null
    sync
    size=$(stat -c %s "$db")
    row() { IFS='|' read -r label secs kib; echo "| $((size / 1048576)) MiB | $mode | $label | $secs | $((kib / 1024)) |"; }
    t "\`up\` (one small migration), \`-no-backup\` (checks only)" "$bin" -path "$work/m" -database "$url" -no-backup up | row
    "$bin" -path "$work/m" -database "$url" -no-backup down 1 2>/dev/null
    t "\`up\`, default (checks and backup)" "$bin" -path "$work/m" -database "$url" up | row
    "$bin" -path "$work/m" -database "$url" -no-backup down 1 2>/dev/null
    rm -f "$work"/db.sqlite.backup-*
    t "\`up\` of a failing migration, first try (backup made)" "$bin" -path "$work/f" -database "$url" up | row
    t "\`up\` of a failing migration, retry (backup reused)" "$bin" -path "$work/f" -database "$url" up | row
    grep -q "Database backup reused" "$work/err" || echo "| | | (the retry did not reuse the backup) | | |"
    t "\`up\` of a failing migration, \`-no-backup\`" "$bin" -path "$work/f" -database "$url" -no-backup up | row
    rm -f "$work"/db.sqlite.backup-*
    t "\`backup\` alone" "$bin" -path "$work/m" -database "$url" backup | row
    rm -f "$work"/db.sqlite.backup-*
    t "\`cp\` + \`sync\` of the file" sh -c "cp '$db' '$work/copy' && sync" | row
    rm -f "$work/copy"
    t "\`PRAGMA quick_check\` (sqlite3 shell)" sqlite3 "$db" "PRAGMA quick_check" | row
    t "\`PRAGMA integrity_check\` (sqlite3 shell)" sqlite3 "$db" "PRAGMA integrity_check" | row
  done
done
