#!/usr/bin/env bash
# Benchmarks `migrate` on SQLite against SQLite's own floor (the sqlite3 shell running the
# same SQL, one transaction per file) and writes BENCHMARKS.md. Never part of `make test`.
#
#   bash scripts/bench.sh            # N = 100, 1000, 10000
#   SIZES="100 1000" bash scripts/bench.sh
#   RUNS=5 bash scripts/bench.sh     # hyperfine runs per row (default: 10, 3 for N >= 10000)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"100 1000 10000"}
OUT=${OUT:-BENCHMARKS.md}
work=$(mktemp -d /tmp/migrate-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! need sqlite3; then
  echo "installing hyperfine and sqlite3 from Debian's packages" >&2
  apt-get update -qq && apt-get install -y -qq hyperfine sqlite3 >/dev/null
fi

cargo build --release --quiet
bin=$PWD/target/release/migrate

# gen DIR N: N migrations; each up creates a 5-column table with an index and inserts 2 rows.
gen() {
  local dir=$1 n=$2
  mkdir -p "$dir"
  python3 - "$dir" "$n" <<'PY'
import sys, os
d, n = sys.argv[1], int(sys.argv[2])
floor = []
for i in range(1, n + 1):
    up = (f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT, "
          f"score REAL, created_at TEXT DEFAULT CURRENT_TIMESTAMP);\n"
          f"CREATE INDEX t{i}_name ON t{i} (name);\n"
          f"INSERT INTO t{i} (name, kind, score) VALUES ('a', 'x', 1.5), ('b', 'y', 2.5);\n")
    down = f"DROP INDEX t{i}_name;\nDROP TABLE t{i};\n"
    open(os.path.join(d, f"{i:06d}_t{i}.up.sql"), "w").write(up)
    open(os.path.join(d, f"{i:06d}_t{i}.down.sql"), "w").write(down)
    floor.append("BEGIN;\n" + up + "COMMIT;\n")
open(os.path.join(os.path.dirname(d), "floor.sql"), "w").write("".join(floor))
PY
}

# median JSON -> milliseconds
median_ms() { python3 -c "import json,sys; print('%.2f' % (json.load(open(sys.argv[1]))['results'][0]['median']*1000))" "$1"; }

hf() { # hf NAME RUNS PREPARE CMD
  local name=$1 runs=$2 prep=$3 cmd=$4
  hyperfine --style none --runs "$runs" --warmup 1 --prepare "$prep" --export-json "$work/$name.json" "$cmd" >/dev/null 2>&1
  median_ms "$work/$name.json"
}

has_cmd() { # whether this build knows a command (exit 2 = unknown command / flag)
  local rc=0
  "$bin" -path "$1" -database "sqlite3://$work/probe.db" "${@:2}" >/dev/null 2>&1 || rc=$?
  rm -f "$work/probe.db"*
  [ "$rc" != 2 ]
}

rows=()
declare -A noop ver
for n in $SIZES; do
  d=$work/n$n/m
  gen "$d" "$n"
  db=$work/n$n/db.sqlite
  fdb=$work/n$n/floor.sqlite
  url="sqlite3://$db"
  runs=${RUNS:-10}
  [ "$n" -ge 10000 ] && runs=${RUNS:-3}
  echo "N=$n ($runs runs per row)" >&2
  a=$(hf "up$n" "$runs" "rm -f $db $db.migrate.lock" "$bin -path $d -database $url up")
  floor=$(hf "floor$n" "$runs" "rm -f $fdb" "sqlite3 $fdb < $work/n$n/floor.sql")
  single=$(hf "single$n" "$runs" "rm -f $db $db.migrate.lock" "$bin -single-transaction -path $d -database $url up")
  rm -f "$db"; "$bin" -path "$d" -database "$url" up 2>/dev/null
  cp "$db" "$db.full"
  b=$(hf "noop$n" "$runs" "true" "$bin -path $d -database $url up")
  c=$(hf "version$n" "$runs" "true" "$bin -path $d -database $url version")
  st="n/a"
  if has_cmd "$d" status; then
    st=$(hf "status$n" "$runs" "true" "$bin -path $d -database $url status -format json >/dev/null; true")
  fi
  e=$(hf "down$n" "$runs" "cp $db.full $db" "$bin -path $d -database $url down -all")
  dry="n/a"
  if has_cmd "$d" up -dry-run; then
    cp "$db.full" "$db"; "$bin" -path "$d" -database "$url" goto 1 >/dev/null 2>&1 || true
    dry=$(hf "dry$n" "$runs" "true" "$bin -path $d -database $url up -dry-run >/dev/null")
  fi
  rm -f "$db"
  rss=$(/usr/bin/time -f %M "$bin" -path "$d" -database "$url" up 2>&1 >/dev/null | tail -1)
  rss_v=$(/usr/bin/time -f %M "$bin" -path "$d" -database "$url" version 2>&1 >/dev/null | tail -1)
  rm -f "$fdb"
  frss=$(/usr/bin/time -f %M sqlite3 "$fdb" < "$work/n$n/floor.sql" 2>&1 >/dev/null | tail -1)
  ratio=$(python3 -c "print('%.2f' % ($a / $floor))")
  rows+=("| $n | $a | $floor | ${ratio}x | $single | $b | $c | $st | $e | $dry | $rss / $frss | $rss_v |")
  noop[$n]=$b; ver[$n]=$c
  echo "  up=$a ms floor=$floor ms ratio=${ratio}x single=$single noop=$b version=$c status=$st down=$e dry=$dry rss=${rss}KiB floor-rss=${frss}KiB version-rss=${rss_v}KiB" >&2
done
scaling=""
if [ -n "${noop[1000]:-}" ] && [ -n "${noop[10000]:-}" ]; then
  scaling="Scaling N=1,000 to N=10,000 (target: at most 12x): (b) $(python3 -c "print('%.1f' % (${noop[10000]} / ${noop[1000]}))")x, (c) $(python3 -c "print('%.1f' % (${ver[10000]} / ${ver[1000]}))")x."
fi

# (g) backup of a 1 GB database against cp, when this build has backups.
backup_row="not measured: this build has no \`backup\` command yet (issue 4)"
if "$bin" -help 2>&1 | grep -q backup || has_cmd "$work/n${SIZES%% *}/m" backups; then
  big=$work/big.sqlite
  sqlite3 "$big" "CREATE TABLE b (x BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 16384) INSERT INTO b SELECT randomblob(65536) FROM c;"
  cpt=$(hf cp 3 "rm -f $work/copy.sqlite" "cp $big $work/copy.sqlite")
  cps=$(hf cpsync 3 "rm -f $work/copy.sqlite" "sh -c 'cp $big $work/copy.sqlite && sync $work/copy.sqlite'")
  bk=$(hf backup 3 "rm -rf $work/bk" "$bin -database sqlite3://$big backup -dir $work/bk")
  backup_row="backup of a 1 GB database ${bk} ms; \`cp\` ${cpt} ms (ratio $(python3 -c "print('%.2f' % ($bk / $cpt))")x); \`cp\` + \`sync\` of the copy, the same durability as the backup, ${cps} ms (ratio $(python3 -c "print('%.2f' % ($bk / $cps))")x)"
fi

{
  echo "# Benchmarks"
  echo
  echo "Generated by \`scripts/bench.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d). Medians of hyperfine runs, milliseconds."
  echo
  echo "- Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); shared and noisy: compare ratios within one run, not across runs."
  echo "- migrate $("$bin" -version 2>&1), $(sqlite3 --version | cut -d' ' -f1-2) shell (the floor), hyperfine $(hyperfine --version | cut -d' ' -f2)."
  echo "- Workload: N migrations; each up creates a 5-column table and an index and inserts 2 rows; each down drops them."
  echo "- Floor: the sqlite3 shell running the same SQL with one transaction per file (same durability: default synchronous, rollback journal)."
  echo
  echo "| N | (a) up from empty | floor | (a)/floor | up -single-transaction | (b) up, nothing pending | (c) version | (d) status | (e) down -all | (f) up -dry-run | peak RSS KiB: (a) / floor | peak RSS KiB: (c) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  [ -n "$scaling" ] && echo "$scaling" && echo
  echo "(g) $backup_row"
  echo
  echo "Commands: \`migrate -path m -database sqlite3://db.sqlite up\` (a, b), \`migrate -single-transaction ... up\`, \`... version\` (c), \`... status -format json\` (d), \`... down -all\` (e), \`... up -dry-run\` (f); floor: \`sqlite3 floor.sqlite < floor.sql\`."
  if [ -f scripts/bench-notes.md ]; then echo; cat scripts/bench-notes.md; fi
} > "$OUT"
cat "$OUT"
