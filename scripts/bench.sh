#!/usr/bin/env bash
# Benchmarks `migrate` on SQLite against SQLite's own floor (the sqlite3 shell running the
# same SQL, one transaction per file) and writes BENCHMARKS.md. Never part of `make test`.
#
#   bash scripts/bench.sh            # N = 100, 1000, 10000
#   SIZES="100 1000" bash scripts/bench.sh
#   RUNS=5 bash scripts/bench.sh     # hyperfine runs per row (default: 10, 3 for N >= 10000;
#                                    # 20 for the rows that take under a second)
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
# The same binary with SQLite only (no PostgreSQL, MySQL or TLS code), for the peak RSS
# column: what the server drivers' code costs a SQLite deployment.
cargo build --release --quiet --no-default-features --features cli,sqlite,embed --target-dir target/bench-sqlite-only
bin_lite=$PWD/target/bench-sqlite-only/release/migrate

# PEERS=1: tools that install from package registries, measured on the same migrations.
# Installed once into a cache outside the repository (nothing of theirs is committed).
PEERS=${PEERS:-0}
peers_dir=${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/migrate-bench}
dbmate=$peers_dir/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate
sqlx=$peers_dir/sqlx/bin/sqlx
if [ "$PEERS" = 1 ]; then
  mkdir -p "$peers_dir"
  if [ ! -x "$dbmate" ]; then
    echo "installing dbmate from npm (@dbmate/linux-x64) into $peers_dir" >&2
    npm install --silent --prefix "$peers_dir/dbmate" @dbmate/linux-x64 >&2
  fi
  if [ ! -x "$sqlx" ]; then
    echo "installing sqlx-cli (SQLite only) from crates.io into $peers_dir; this compiles for a few minutes" >&2
    cargo install --quiet --locked sqlx-cli --no-default-features --features sqlite --root "$peers_dir/sqlx" >&2
  fi
fi

# gen DIR N: N migrations; each up creates a 5-column table with an index and inserts 2 rows.
gen() {
  local dir=$1 n=$2
  mkdir -p "$dir"
  python3 - "$dir" "$n" <<'PY'
import sys, os, hashlib
d, n = sys.argv[1], int(sys.argv[2])
dbm = os.path.join(os.path.dirname(d), "dbmate")
os.makedirs(dbm, exist_ok=True)
floor, floorv, samework = [], [], []
now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
for i in range(1, n + 1):
    up = (f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT, "
          f"score REAL, created_at TEXT DEFAULT CURRENT_TIMESTAMP);\n"
          f"CREATE INDEX t{i}_name ON t{i} (name);\n"
          f"INSERT INTO t{i} (name, kind, score) VALUES ('a', 'x', 1.5), ('b', 'y', 2.5);\n")
    down = f"DROP INDEX t{i}_name;\nDROP TABLE t{i};\n"
    open(os.path.join(d, f"{i:06d}_t{i}.up.sql"), "w").write(up)
    open(os.path.join(d, f"{i:06d}_t{i}.down.sql"), "w").write(down)
    floor.append("BEGIN;\n" + up + "COMMIT;\n")
    # the floor of any golang-migrate-compatible tool: the same SQL and the version row
    versioned = (up + "DELETE FROM schema_migrations;\n"
                 f"INSERT INTO schema_migrations (version, dirty) VALUES ({i}, 0);\n")
    floorv.append("BEGIN;\n" + versioned + "COMMIT;\n")
    # the same work as `up` in the shell: what `migrate` records with each step, in the same
    # transaction (issue 3): the version row, the checksums of the version's two files and
    # a journal row, into side tables with `migrate`'s DDL
    sums = [hashlib.sha256(x.encode()).hexdigest() for x in (up, down)]
    samework.append(
        "BEGIN;\n" + versioned +
        f'DELETE FROM "schema_migrations_checksums" WHERE "version" = {i};\n'
        'INSERT INTO "schema_migrations_checksums" ("version", "direction", "file", "checksum", "applied_at", "duration_ms") VALUES '
        f"({i}, 'up', '{i:06d}_t{i}.up.sql', '{sums[0]}', {now}, 0), "
        f"({i}, 'down', '{i:06d}_t{i}.down.sql', '{sums[1]}', {now}, 0);\n"
        'INSERT INTO "schema_migrations_journal" ("seq", "operation", "version_from", "version_to", "file", "checksum", "started_at", "finished_at", "duration_ms", "outcome", "error", "tool_version", "host", "user") VALUES '
        '((SELECT COALESCE(MAX("seq"), 0) + 1 FROM "schema_migrations_journal"), '
        f"'up', {i - 1 if i > 1 else 'NULL'}, {i}, '{i:06d}_t{i}.up.sql', '{sums[0]}', {now}, {now}, 0, 'ok', NULL, '0.1.0', 'bench', 'bench');\nCOMMIT;\n")
    # peers' layouts: dbmate (one file, two sections); sqlx reads the up/down names as they are
    open(os.path.join(dbm, f"{i:06d}_t{i}.sql"), "w").write(
        "-- migrate:up\n" + up + "\n-- migrate:down\n" + down)
top = os.path.dirname(d)
open(os.path.join(top, "floor.sql"), "w").write("".join(floor))
# the checks `up` runs before and after migrating (issue 4)
checks = "PRAGMA quick_check;\nPRAGMA foreign_key_check;\n"
# the floor's memory with the checks after migrating, in the same process
open(os.path.join(top, "floorc.sql"), "w").write("".join(floor) + checks)
version_ddl = ("CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);\n")
# migrate's side tables on SQLite (src/journal.rs, `ddl`)
side_ddl = (
    'CREATE TABLE IF NOT EXISTS "schema_migrations_checksums" ("version" BIGINT NOT NULL, "direction" VARCHAR(4) NOT NULL, "file" VARCHAR(255) NOT NULL, "checksum" CHAR(64) NOT NULL, "applied_at" VARCHAR(35) NOT NULL, "duration_ms" BIGINT, PRIMARY KEY ("version", "direction")) WITHOUT ROWID;\n'
    'CREATE TABLE IF NOT EXISTS "schema_migrations_journal" ("seq" INTEGER NOT NULL PRIMARY KEY, "operation" VARCHAR(32) NOT NULL, "version_from" BIGINT, "version_to" BIGINT, "file" VARCHAR(255), "checksum" CHAR(64), "started_at" VARCHAR(35) NOT NULL, "finished_at" VARCHAR(35) NOT NULL, "duration_ms" BIGINT NOT NULL, "outcome" VARCHAR(16) NOT NULL, "error" TEXT, "tool_version" VARCHAR(64) NOT NULL, "host" VARCHAR(255) NOT NULL, "user" VARCHAR(255) NOT NULL);\n')
open(os.path.join(top, "samework.sql"), "w").write(
    checks + version_ddl + side_ddl + "".join(samework) + checks)
open(os.path.join(top, "floorv.sql"), "w").write(version_ddl + "".join(floorv))
PY
}

# median JSON -> milliseconds
median_ms() { python3 -c "import json,sys; print('%.2f' % (json.load(open(sys.argv[1]))['results'][0]['median']*1000))" "$1"; }
# ratio A B -> A / B with two decimals
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
# peak CMD... -> the command's peak RSS in KiB (its output discarded; stdin passes through)
peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
# peak3 PREPARE CMD... -> the median of three `peak`s, PREPARE (a shell command) run before each
peak3() {
  local prep=$1; shift
  local i out=()
  for i in 1 2 3; do sh -c "$prep"; out+=("$(peak "$@")"); done
  printf '%s\n' "${out[@]}" | sort -n | sed -n 2p
}

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

# paired N NAME:PREPARE:CMD... -> ROUNDS rounds (default 15), each running every command
# once in a rotated order, so the machine's drift hits all alike; prints the median time of
# each and the median of each round's ratio to the first command.
paired() {
  local n=$1; shift
  local rounds=${ROUNDS:-15} r k i spec name prep cmd t0 t1
  local log=$work/paired$n.txt
  : > "$log"
  for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < $#; k++)); do
      i=$(( (r + k) % $# + 1 ))
      spec=${!i}
      IFS=: read -r name prep cmd <<< "$spec"
      sh -c "$prep"
      t0=$(date +%s%N); sh -c "$cmd" >/dev/null 2>&1; t1=$(date +%s%N)
      echo "$r $name $(( (t1 - t0) / 1000 ))" >> "$log"
    done
  done
  python3 - "$log" "${1%%:*}" <<'PY'
import sys, statistics, collections
rows = [l.split() for l in open(sys.argv[1])]
base = sys.argv[2]
t = collections.defaultdict(dict)
for r, name, us in rows:
    t[name][r] = int(us) / 1000
out = []
for name, by in t.items():
    med = statistics.median(by.values())
    if name == base:
        out.append(f"{name} {med:.0f} ms")
    else:
        ratio = statistics.median(by[r] / t[base][r] for r in by)
        out.append(f"{name} {med:.0f} ms ({ratio:.2f}x)")
print(", ".join(out))
PY
}

rows=()
peer_rows=()
paired_line=""
declare -A noop ver shellver
for n in $SIZES; do
  d=$work/n$n/m
  gen "$d" "$n"
  db=$work/n$n/db.sqlite
  fdb=$work/n$n/floor.sqlite
  url="sqlite3://$db"
  runs=${RUNS:-10}
  [ "$n" -ge 10000 ] && runs=${RUNS:-3}
  # rows that take well under a second get 20 runs at every N (the scaling ratios use them)
  quick=${RUNS:-20}
  echo "N=$n ($runs runs per row)" >&2
  a=$(hf "up$n" "$runs" "rm -f $db $db.migrate.lock" "$bin -path $d -database $url up")
  floor=$(hf "floor$n" "$runs" "rm -f $fdb" "sqlite3 $fdb < $work/n$n/floor.sql")
  floorv=$(hf "floorv$n" "$runs" "rm -f $fdb" "sqlite3 $fdb < $work/n$n/floorv.sql")
  samework=$(hf "samework$n" "$runs" "rm -f $fdb" "sqlite3 $fdb < $work/n$n/samework.sql")
  single=$(hf "single$n" "$runs" "rm -f $db $db.migrate.lock" "$bin -single-transaction -path $d -database $url up")
  rm -f "$db"; "$bin" -path "$d" -database "$url" up 2>/dev/null
  cp "$db" "$db.full"
  b=$(hf "noop$n" "$quick" "true" "$bin -path $d -database $url up")
  c=$(hf "version$n" "$quick" "true" "$bin -path $d -database $url version")
  # the floor of (c): the shell opening the same database and reading the version row
  cs=$(hf "shellversion$n" "$quick" "true" "sqlite3 $db 'SELECT version, dirty FROM schema_migrations' >/dev/null")
  st="n/a"
  if has_cmd "$d" status; then
    st=$(hf "status$n" "$quick" "true" "$bin -path $d -database $url status -format json >/dev/null; true")
  fi
  e=$(hf "down$n" "$runs" "cp $db.full $db" "$bin -path $d -database $url down -all")
  dry="n/a"
  if has_cmd "$d" up -dry-run; then
    cp "$db.full" "$db"; "$bin" -path "$d" -database "$url" goto 1 >/dev/null 2>&1 || true
    dry=$(hf "dry$n" "$quick" "true" "$bin -path $d -database $url up -dry-run >/dev/null")
  fi
  rss=$(peak3 "rm -f $db $db.migrate.lock" "$bin" -path "$d" -database "$url" up)
  rss_lite=$(peak3 "rm -f $db $db.migrate.lock" "$bin_lite" -path "$d" -database "$url" up)
  rss_v=$(peak3 true "$bin" -path "$d" -database "$url" version)
  frss=$(peak3 "rm -f $fdb" sqlite3 "$fdb" -init "$work/n$n/floor.sql" -batch "SELECT 1")
  fcrss=$(peak3 "rm -f $fdb" sqlite3 "$fdb" -init "$work/n$n/floorc.sql" -batch "SELECT 1")
  ra=$(ratio "$a" "$floor")
  rav=$(ratio "$a" "$floorv")
  rab=$(ratio "$a" "$samework")
  rows+=("| $n | $a | $floor | ${ra}x | $floorv | ${rav}x | $samework | ${rab}x | $single | $b | $c | $st | $e | $dry | $rss / $rss_lite / $frss / $fcrss | $rss_v |")
  noop[$n]=$b; ver[$n]=$c; shellver[$n]=$cs
  if [ "$n" = 1000 ]; then
    echo "  paired rounds at N=1000" >&2
    paired_line=$(paired "$n" \
      "floor:rm -f $fdb:sqlite3 $fdb < $work/n$n/floor.sql" \
      "same-work:rm -f $fdb:sqlite3 $fdb < $work/n$n/samework.sql" \
      "migrate:rm -f $db $db.migrate.lock:$bin -path $d -database $url up")
    echo "  $paired_line" >&2
  fi
  echo "  up=$a ms floor=$floor ms ratio=${ra}x floor+version=$floorv ms ratio=${rav}x same-work=$samework ms ratio=${rab}x single=$single noop=$b version=$c status=$st down=$e dry=$dry rss=${rss}KiB sqlite-only-rss=${rss_lite}KiB floor-rss=${frss}KiB floor+checks-rss=${fcrss}KiB version-rss=${rss_v}KiB" >&2
  if [ "$PEERS" = 1 ]; then
    pdb=$work/n$n/peer.sqlite
    # dbmate: up from empty (each file in a transaction), up with nothing pending, status;
    # its rollback undoes one migration per call, so a down-all row would not compare.
    dm="$dbmate --no-dump-schema -d $work/n$n/dbmate -u sqlite:$pdb"
    du=$(hf "dbmate-up$n" "$runs" "rm -f $pdb" "$dm up >/dev/null")
    dn=$(hf "dbmate-noop$n" "$quick" "true" "$dm up >/dev/null")
    ds=$(hf "dbmate-status$n" "$quick" "true" "$dm status >/dev/null; true")
    rm -f "$pdb"
    drss=$(peak $dm up)
    peer_rows+=("| $n | dbmate $("$dbmate" --version | awk '{print $NF}') | $du ($(ratio "$du" "$a")x) | $dn ($(ratio "$dn" "$b")x) | $ds ($(ratio "$ds" "$st")x) | n/a | $drss |")
    # sqlx-cli reads the same NNN_name.up.sql / .down.sql files (its reversible layout).
    sq="--source $d --database-url sqlite://$pdb"
    su=$(hf "sqlx-up$n" "$runs" "rm -f $pdb" "$sqlx migrate run $sq?mode=rwc >/dev/null")
    sn=$(hf "sqlx-noop$n" "$quick" "true" "$sqlx migrate run $sq >/dev/null")
    ss=$(hf "sqlx-info$n" "$quick" "true" "$sqlx migrate info $sq >/dev/null")
    cp "$pdb" "$pdb.full"
    sd=$(hf "sqlx-down$n" "$runs" "cp $pdb.full $pdb" "$sqlx migrate revert --target-version 0 $sq >/dev/null")
    rm -f "$pdb"
    srss=$(peak $sqlx migrate run $sq?mode=rwc)
    peer_rows+=("| $n | sqlx-cli $("$sqlx" --version | awk '{print $NF}') | $su ($(ratio "$su" "$a")x) | $sn ($(ratio "$sn" "$b")x) | $ss ($(ratio "$ss" "$st")x) | $sd ($(ratio "$sd" "$e")x) | $srss |")
    peer_rows+=("| $n | migrate (this run) | $a | $b | $st | $e | $rss |")
    echo "  dbmate up=$du noop=$dn status=$ds rss=$drss; sqlx up=$su noop=$sn info=$ss down=$sd rss=$srss" >&2
  fi
done
scaling=""
if [ -n "${noop[1000]:-}" ] && [ -n "${noop[10000]:-}" ]; then
  scaling="Scaling N=1,000 to N=10,000 (target: at most 12x): (b) $(python3 -c "print('%.1f' % (${noop[10000]} / ${noop[1000]}))")x, (c) $(python3 -c "print('%.1f' % (${ver[10000]} / ${ver[1000]}))")x; the shell opening the same databases and reading the version row: $(python3 -c "print('%.1f' % (${shellver[10000]} / ${shellver[1000]}))")x (${shellver[1000]} ms and ${shellver[10000]} ms)."
fi

# (g) backup of a 1 GB database against cp, when this build has backups.
backup_row="not measured: this build has no \`backup\` command yet (issue 4)"
if "$bin" -help 2>&1 | grep -q backup || has_cmd "$work/n${SIZES%% *}/m" backups; then
  big=$work/big.sqlite
  sqlite3 "$big" "CREATE TABLE b (x BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 16384) INSERT INTO b SELECT randomblob(65536) FROM c;"
  cpt=$(hf cp 3 "rm -f $work/copy.sqlite" "cp $big $work/copy.sqlite")
  cps=$(hf cpsync 3 "rm -f $work/copy.sqlite" "sh -c 'cp $big $work/copy.sqlite && sync $work/copy.sqlite'")
  # the same work with standard tools: the shell's .backup (SQLite's online backup API, as
  # issue 4 requires), sync, and PRAGMA quick_check of the copy
  shb=$(hf shellbackup 3 "rm -f $work/copy.sqlite" "sh -c 'sqlite3 $big \".backup $work/copy.sqlite\" && sync $work/copy.sqlite && sqlite3 $work/copy.sqlite \"PRAGMA quick_check\" >/dev/null'")
  bk=$(hf backup 3 "rm -rf $work/bk" "$bin -database sqlite3://$big backup -dir $work/bk")
  backup_row="backup of a 1 GB database ${bk} ms; \`cp\` ${cpt} ms (ratio $(ratio "$bk" "$cpt")x); \`cp\` + \`sync\` of the copy, the same durability as the backup, ${cps} ms (ratio $(ratio "$bk" "$cps")x); the same work by the shell (\`.backup\` with the online backup API, \`sync\`, \`PRAGMA quick_check\` of the copy) ${shb} ms (ratio $(ratio "$bk" "$shb")x)"
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
  echo "- Floor + version row: the same, each transaction also writing golang-migrate's \`schema_migrations\` row, as every golang-migrate-compatible tool must."
  echo "- Same work in the shell: the floor plus everything \`up\` writes and checks, in the shell: each transaction also writes the version row, the checksums of the version's two files and a journal row (issue 3) into tables with \`migrate\`'s DDL, and \`PRAGMA quick_check\` and \`PRAGMA foreign_key_check\` run before and after (issue 4). What is left between it and (a) is the tool itself: start-up, reading and hashing the files, planning, locking."
  echo "- SQLite-only build (memory only): \`cargo build --release --no-default-features --features cli,sqlite,embed\`, the same binary without the PostgreSQL, MySQL and TLS code."
  echo "- Floor + checks (memory only): the floor followed, in the same shell, by the \`PRAGMA quick_check\` and \`PRAGMA foreign_key_check\` that \`up\` runs after migrating."
  echo
  echo "| N | (a) up from empty | floor | (a)/floor | floor + version row | (a)/(floor + version row) | same work in the shell | (a)/(same work) | up -single-transaction | (b) up, nothing pending | (c) version | (d) status | (e) down -all | (f) up -dry-run | peak RSS KiB: (a) / (a) SQLite-only build / floor / floor + checks | peak RSS KiB: (c) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  [ -n "$paired_line" ] && echo "Paired rounds at N = 1,000 (${ROUNDS:-15} rounds, each running the three once in a rotated order; median times, and in brackets the median of each round's ratio to the floor): $paired_line." && echo
  [ -n "$scaling" ] && echo "$scaling" && echo
  echo "(g) $backup_row"
  echo
  if [ "${#peer_rows[@]}" -gt 0 ]; then
    echo "Peers (\`PEERS=1\`): the same migrations on the same machine in the same run; in brackets the peer's time over ours (above 1: \`migrate\` is faster). Medians in ms, peak RSS in KiB."
    echo
    echo "| N | tool | up from empty | up, nothing pending | status / info | down all | peak RSS, up |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${peer_rows[@]}"
    echo
  else
    echo "Peers: not measured in this run (\`PEERS=1 make bench\` installs dbmate from npm and sqlx-cli from crates.io and measures them side by side)."
    echo
  fi
  echo "Commands: \`migrate -path m -database sqlite3://db.sqlite up\` (a, b), \`migrate -single-transaction ... up\`, \`... version\` (c), \`... status -format json\` (d), \`... down -all\` (e), \`... up -dry-run\` (f); floor: \`sqlite3 floor.sqlite < floor.sql\`; peers: \`dbmate --no-dump-schema -d DIR -u sqlite:DB up\` and \`status\`, \`sqlx migrate run\`, \`info\` and \`revert --target-version 0\`."
  if [ -f scripts/bench-notes.md ]; then echo; cat scripts/bench-notes.md; fi
} > "$OUT"
cat "$OUT"
