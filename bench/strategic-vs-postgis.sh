#!/usr/bin/env bash
# Strategic conflict queries: deconflict's index against PostGIS, on the same volumes and the
# same queries, with the answers checked identical. The two systems' query rounds are
# interleaved (deconflict, PostGIS, PostGIS, deconflict, …; one untimed warm-up round each), so
# both are timed under the same conditions on a shared machine. Each round runs every query
# once; the comparison prints, per round, each side's median and p99 and their ratios, and as
# the last line the median ratio over the rounds with its spread (min–max), against the target
# (>= 30x at the median and at p99, in every round). Exits 1 when answers differ or the target
# is missed.
#
#   bench/strategic-vs-postgis.sh            # 1,000,000 notifications, 1,000 queries, 5 rounds
#   N=200000 Q=1000 ROUNDS=3 bench/strategic-vs-postgis.sh
#
# Installs PostgreSQL and PostGIS with apt-get when they are missing (as root), starts a private
# cluster on 127.0.0.1 in a temporary directory (as a non-root user), and stops and removes it
# on exit. The PostGIS table has a multicolumn GiST index over (footprint, during, alt); each
# query is `ST_Intersects` on the footprint plus `&&` on the time and altitude ranges, timed
# inside the server (clock_timestamp around each SELECT, no client round trip), the same way
# deconflict's queries are timed inside its process. The cluster runs with fsync off: a
# benchmark of queries, not of durability.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
Q=${Q:-1000}
ROUNDS=${ROUNDS:-5}
[ "$ROUNDS" -ge 3 ] || { echo "ROUNDS must be at least 3" >&2; exit 2; }
SEED=${SEED:-1}
V_BUFFER_M=${V_BUFFER_M:-150}
TARGET=${CARGO_TARGET_DIR:-target}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
have_postgis() {
    local b; b=$(pg_bin) || return 1
    [ -n "$b" ] && ls "$(dirname "$b")"/lib/postgis-3.so >/dev/null 2>&1 \
        || ls /usr/lib/postgresql/*/lib/postgis-3.so >/dev/null 2>&1
}
if [ -z "$(pg_bin)" ] || ! have_postgis; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "PostgreSQL with PostGIS is missing; run as root to install it with apt-get" >&2
        exit 1
    fi
    echo "installing postgresql and postgis (apt-get)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    ver=$(basename "$(dirname "$(pg_bin)")")
    apt-get install -y -qq "postgresql-$ver-postgis-3" >/dev/null
fi
BIN=$(pg_bin)

WORK=$(mktemp -d /tmp/deconflict-strategic-XXXXXX)
chmod 755 "$WORK"
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root: the cluster belongs to an unprivileged user.
    user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$WORK"
    RUN=(runuser -u "$user" --)
fi
PGDATA="$WORK/data"
PORT=$((20000 + RANDOM % 20000))
cleanup() {
    "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "building the Rust side (release)…" >&2
cargo build --release -q -p deconflict-airspace --example strategic_bench
echo "== deconflict: $N notifications, $Q queries, vertical buffer $V_BUFFER_M m, $ROUNDS rounds =="
# The Rust side draws the volumes, writes them for COPY, builds its index, prints "ready", then
# runs one round of queries per "round K" line it reads, answering "done K".
coproc RUST { exec "$TARGET/release/examples/strategic_bench" rounds "$WORK" "$N" "$Q" "$SEED" "$V_BUFFER_M"; }
rust_wait() {
    local line
    while IFS= read -r line <&"${RUST[0]}"; do
        [ "$line" = "$1" ] && return 0
        echo "$line"
    done
    echo "the deconflict side stopped before answering $1" >&2
    exit 1
}
rust_round() { echo "round $1" >&"${RUST[1]}"; rust_wait "done $1"; }
rust_wait ready
chmod 644 "$WORK"/*.tsv

"${RUN[@]}" "$BIN/initdb" -D "$PGDATA" -A trust -U bench >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c shared_buffers=2GB -c maintenance_work_mem=4GB -c work_mem=64MB \
     -c max_wal_size=20GB -c max_parallel_maintenance_workers=2 -c jit=off" start >/dev/null
PSQL=("${RUN[@]}" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U bench -d postgres)

echo "== PostGIS $("${PSQL[@]}" -tAc "select default_version from pg_available_extensions where name='postgis'") on PostgreSQL $("${PSQL[@]}" -tAc 'show server_version') ==" 
"${PSQL[@]}" <<SQL
CREATE EXTENSION postgis;
CREATE TABLE notif (id text, party text, footprint geometry(Polygon), alt numrange, during tstzrange);
CREATE TABLE q (qid int, id text, party text, footprint geometry(Polygon), alt numrange, during tstzrange);
\timing on
\echo 'load (COPY):'
\copy notif FROM '$WORK/notifications.tsv'
\echo 'multicolumn GiST index over (footprint, during, alt):'
CREATE INDEX notif_gist ON notif USING gist (footprint, during, alt);
\timing off
ANALYZE notif;
\copy q FROM '$WORK/queries.tsv'
SQL

"${PSQL[@]}" -c "EXPLAIN SELECT n.id FROM notif n, q WHERE q.qid = 0 AND n.party <> q.party
    AND n.during && q.during AND n.alt && q.alt AND ST_Intersects(n.footprint, q.footprint)" \
    | grep -E "Index|Scan" | head -3 >&2

"${PSQL[@]}" <<SQL
CREATE TABLE answers (qid int, ids text);
CREATE TABLE timings (round int, qid int, us float8);
CREATE PROCEDURE pg_round(k int) LANGUAGE plpgsql AS \$\$
DECLARE
    r record;
    t0 timestamptz;
    t1 timestamptz;
    found text[];
BEGIN
    FOR r IN SELECT * FROM q ORDER BY qid LOOP
        t0 := clock_timestamp();
        SELECT array_agg(n.id) INTO found FROM notif n
         WHERE n.footprint && r.footprint AND ST_Intersects(n.footprint, r.footprint)
           AND n.during && r.during AND n.alt && r.alt AND n.party <> r.party;
        t1 := clock_timestamp();
        IF k = 0 THEN
            INSERT INTO answers VALUES (r.qid, coalesce(array_to_string(found, ','), ''));
        ELSE
            INSERT INTO timings VALUES (k, r.qid, extract(epoch FROM t1 - t0) * 1e6);
        END IF;
    END LOOP;
END
\$\$;
SQL
pg_round() { "${PSQL[@]}" -c "CALL pg_round($1)"; }

# Round 0 warms both sides up (and gives the answers); rounds 1..ROUNDS are timed, alternating
# which side goes first.
rust_round 0
pg_round 0
for k in $(seq 1 "$ROUNDS"); do
    if [ $((k % 2)) -eq 1 ]; then rust_round "$k"; pg_round "$k"; else pg_round "$k"; rust_round "$k"; fi
done
exec {RUST[1]}>&-
"${PSQL[@]}" <<SQL
\copy (SELECT qid, ids FROM answers ORDER BY qid) TO '$WORK/pg_answers.tsv'
SQL
for k in $(seq 1 "$ROUNDS"); do
    "${PSQL[@]}" -c "\copy (SELECT qid, us FROM timings WHERE round = $k ORDER BY qid) TO '$WORK/pg_round_$k.tsv'"
done

"$TARGET/release/examples/strategic_bench" compare "$WORK" "$ROUNDS"
