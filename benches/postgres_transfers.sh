#!/usr/bin/env bash
# The durable transfer of `bench_report durable`, against PostgreSQL: the
# same conditional-update transfer (record the id, debit only if the balance
# covers it, credit) as one server-side function call per transfer, with
# 1, 8, 64 and 256 concurrent clients (pgbench), `synchronous_commit=on` and
# `fsync=on`: each transfer returns once its commit is on disk, as a durable
# atomic-ledger transfer does.
#
#   sudo benches/postgres_transfers.sh            # 10 s per client count
#   SECONDS_PER_RUN=30 sudo benches/postgres_transfers.sh
#
# Needs root (it installs Debian's `postgresql` package if `pg_ctl` is
# missing, and runs the server as the `postgres` user). The cluster lives in
# a temporary directory under TMPDIR (the disk measured), listens on
# 127.0.0.1:54329 only, and is stopped and removed on exit. Compare its
# transactions per second with the same client counts in
# `cargo run --release --example bench_report -- durable`, run on the same
# machine and disk.
set -euo pipefail

SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
PORT=54329
ACCOUNTS=10000

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
DATA="$(mktemp -d)"
chown postgres: "$DATA"
as_postgres() { runuser -u postgres -- "$@"; }
cleanup() {
    as_postgres "$BIN/pg_ctl" -D "$DATA/cluster" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT

as_postgres "$BIN/initdb" -D "$DATA/cluster" -A trust -U postgres >/dev/null
as_postgres "$BIN/pg_ctl" -D "$DATA/cluster" -l "$DATA/server.log" -w start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DATA \
     -c synchronous_commit=on -c fsync=on -c full_page_writes=on -c max_connections=300 \
     -c shared_buffers=256MB" >/dev/null
psql() { as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1 "$@"; }

psql <<SQL
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE transfers (id bigint PRIMARY KEY, from_id bigint, to_id bigint, amount bigint, applied boolean);
INSERT INTO accounts SELECT g, 1099511627776 FROM generate_series(1, $ACCOUNTS) g;
-- One transfer, exactly once by id: a repeat changes nothing (NULL); the
-- debit is a conditional UPDATE; rows are locked in id order (no deadlock).
CREATE FUNCTION transfer(p_id bigint, p_from bigint, p_to bigint, p_amount bigint)
RETURNS boolean LANGUAGE plpgsql AS \$\$
DECLARE debited int;
BEGIN
    INSERT INTO transfers VALUES (p_id, p_from, p_to, p_amount, false) ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN RETURN NULL; END IF;
    PERFORM 1 FROM accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE;
    UPDATE accounts SET balance = balance - p_amount WHERE id = p_from AND balance >= p_amount;
    GET DIAGNOSTICS debited = ROW_COUNT;
    IF debited = 1 THEN
        UPDATE accounts SET balance = balance + p_amount WHERE id = p_to;
        UPDATE transfers SET applied = true WHERE id = p_id;
    END IF;
    RETURN debited = 1;
END \$\$;
SQL

SCRIPT="$DATA/transfer.sql"
cat >"$SCRIPT" <<SQL
\set id random(1, 9000000000000000000)
\set from random(1, $ACCOUNTS)
\set to random(1, $ACCOUNTS)
SELECT transfer(:id, :from, :to, 1);
SQL
chown postgres: "$SCRIPT"

echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}'), synchronous_commit=on, data in $DATA ($(df --output=source,fstype "$DATA" | tail -1 | xargs))"
echo "| clients | transfers/s |"
echo "|---|---|"
for clients in 1 8 64 256; do
    tps="$(as_postgres "$BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -n -c "$clients" -j 2 \
        -T "$SECONDS_PER_RUN" -f "$SCRIPT" postgres 2>/dev/null | awk '/^tps/ {print $3; exit}')"
    echo "| $clients | ${tps%.*} |"
done
applied="$(psql -At -c "SELECT (SELECT count(*) FROM transfers WHERE applied), (SELECT sum(balance) FROM accounts) = $ACCOUNTS::numeric * 1099511627776")"
echo "(applied transfers, and money conserved: $applied)"
