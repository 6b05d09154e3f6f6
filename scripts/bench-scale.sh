#!/usr/bin/env bash
# Safety at scale: what the SQLite checks and backups cost on large databases, against
# `cp` + `sync` of the same file, and what a reused backup costs. Prints a Markdown
# section (the one in BENCHMARKS.md under "Safety at scale"). Every figure is the median
# of RUNS runs (default 3) timed with /usr/bin/time (wall seconds, peak RSS); the
# overhead ratios are computed within each trial (the default run, the -no-backup run and
# `cp` + `sync` one after the other) and their median is printed. Never part of
# `make test`.
#
#   bash scripts/bench-scale.sh                  # 1 GB and 5 GB, rollback and WAL
#   SIZES_MB="1024" bash scripts/bench-scale.sh  # 1 GB only
#
# Files are removed, and `sync` run, before each timed run: a run right after a large file
# was deleted is slower on ext4 (its blocks are freed when the journal commits).
#
# A size is skipped, with a message, when the disk cannot hold the database, its backup
# and a `cp` of it (three times its size). The generated databases are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES_MB=${SIZES_MB:-"1024 5120"}
MODES=${MODES:-"delete wal"}
RUNS=${RUNS:-3}
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

# once CMD...: runs CMD once (stdout and stderr to files); prints "seconds KiB".
once() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
  tail -1 "$work/time"
}

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# measure LABEL SETUP CMD...: RUNS times SETUP (untimed, a shell string) then CMD; prints
# a table row with the median seconds and the largest peak RSS.
measure() {
  local label=$1 setup=$2; shift 2
  : > "$work/runs"
  for _ in $(seq "$RUNS"); do
    eval "$setup"
    once "$@" >> "$work/runs"
  done
  local secs kib
  secs=$(awk '{print $1}' "$work/runs" | median)
  kib=$(awk '{print $2}' "$work/runs" | sort -g | tail -1)
  echo "| $size_label | $mode | $label | $secs | $((kib / 1024)) |"
}

echo "## Safety at scale (issue 21)"
echo
echo "\`scripts/bench-scale.sh\` on $(uname -m), $(nproc) cores, file system $(stat -f -c %T "$work"), $(date -u +%Y-%m-%d)."
echo "Median of $RUNS runs per row: wall seconds; peak RSS of the process (/usr/bin/time), the largest of the runs."
echo
echo "| size | journal mode | run | seconds | peak RSS (MiB) |"
echo "|---|---|---|---:|---:|"
ratios=""
for mb in $SIZES_MB; do
  free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
  if [ $((free_kb / 1024)) -lt $((mb * 3 + 512)) ]; then
    echo "| ${mb} MiB | | skipped: $((free_kb / 1024)) MiB free, needs $((mb * 3 + 512)) MiB | | |"
    continue
  fi
  for mode in $MODES; do
    db=$work/db.sqlite
    rm -f "$db"* "$work/copy"
    url="sqlite3://$db"
    m=(-path "$work/m" -database "$url")
    f=(-path "$work/f" -database "$url")
    "$bin" "${m[@]}" -no-backup up 1 2>/dev/null
    sqlite3 "$db" "PRAGMA journal_mode=$mode; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $mb) INSERT INTO big (b) SELECT randomblob(1048576) FROM n;" >/dev/null
    sync
    size_label="$(($(stat -c %s "$db") / 1048576)) MiB"
    down="'$bin' ${m[*]} -no-backup goto 1 2>/dev/null; rm -f '$db'.backup-*; sync"
    # One trial: the -no-backup run, the default run, cp + sync, one after the other.
    : > "$work/trials"
    for _ in $(seq "$RUNS"); do
      eval "$down"
      read -r nb nbk < <(once "$bin" "${m[@]}" -no-backup up)
      eval "$down"
      read -r def defk < <(once "$bin" "${m[@]}" up)
      grep -q "Database backup created" "$work/err" || echo "| | | (the default run made no backup) | | |"
      read -r cp cpk < <(once sh -c "cp '$db' '$work/copy' && sync")
      rm -f "$work/copy"
      sync
      echo "$nb $nbk $def $defk $cp $cpk" >> "$work/trials"
    done
    eval "$down"
    col() { awk -v c="$1" '{print $c}' "$work/trials" | median; }
    mib() { echo $(($(awk -v c="$1" '{print $c}' "$work/trials" | sort -g | tail -1) / 1024)); }
    echo "| $size_label | $mode | \`up\` (one small migration), \`-no-backup\` (checks only) | $(col 1) | $(mib 2) |"
    echo "| $size_label | $mode | \`up\`, default (checks and backup) | $(col 3) | $(mib 4) |"
    echo "| $size_label | $mode | \`cp\` + \`sync\` of the file | $(col 5) | $(mib 6) |"
    measure "\`up\` of a failing migration, first try (backup made)" "rm -f '$db'.backup-*; sync" "$bin" "${f[@]}" up
    measure "\`up\` of a failing migration, retry (backup reused)" ":" "$bin" "${f[@]}" up
    grep -q "Database backup reused" "$work/err" || echo "| | | (the retry did not reuse the backup) | | |"
    measure "\`up\` of a failing migration, \`-no-backup\`" ":" "$bin" "${f[@]}" -no-backup up
    measure "\`backup\` alone" "rm -f '$db'.backup-*; sync" "$bin" "${m[@]}" backup
    rm -f "$db".backup-*
    measure "\`cp\` + \`sync\` of the copy alone (its fsync)" "rm -f '$work/copy'; sync" sh -c "cp '$db' '$work/copy' && sync '$work/copy'"
    rm -f "$work/copy"
    measure "\`PRAGMA quick_check\` (sqlite3 shell)" ":" sqlite3 "$db" "PRAGMA quick_check"
    n=$(sqlite3 "$db" "SELECT count(*) FROM big")
    [ "$n" = "$mb" ] || echo "| | | (table big has $n rows instead of $mb: the figures are wrong) | | |"
    r=$(awk '{ printf "%.2f\n", ($3 - $1) / $5 }' "$work/trials" | median)
    trials=$(awk '{ printf "%s%.2f - %.2f = %.2f s against %.2f s", (NR > 1 ? "; " : ""), $3, $1, $3 - $1, $5 }' "$work/trials")
    ratios="$ratios- $size_label, $mode: overhead / (\`cp\` + \`sync\`) = $r (median of trials: $trials)"$'\n'
    rm -f "$db"* "$work/copy"
  done
done
echo
echo "Safety overhead (default \`up\` minus \`-no-backup\` \`up\`) against \`cp\` + \`sync\`, per trial:"
echo
printf '%s' "$ratios"
