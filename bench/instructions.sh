#!/usr/bin/env bash
# Instructions the server executes per command, counted by valgrind's callgrind: the same for
# the same binary and inputs whatever else the machine is doing (times on this host vary ~2x
# between sessions; counts do not). The `saturate` mix at 100 ops/s over 200 connections in 10
# rooms, run twice (5 s and 25 s): the difference of the two totals over the difference of the
# commands answered is the steady state's count per command (the joins and start-up cancel).
# User space only: the kernel's work (the sends) is not counted.
#
#   bench/instructions.sh [SERVER_BIN] [OUT.json]
#
# SERVER_BIN defaults to target/release/coguest (built by the caller); the load generator is
# always target/release/coguest. Pinned as the other runs: server on CPU 0, load on CPU 1.
# Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 20000 2>/dev/null || true
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
BIN=$PWD/target/release/coguest
SERVER=$(realpath "${1:-$BIN}")
OUT=${2:-/dev/stdout}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/server.sh" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$WORK/cg.%p.out "$SERVER" "\$@"
EOF
chmod +x "$WORK/server.sh"

for secs in 5 25; do
  rm -f "$WORK"/cg.*.out
  taskset -c 1 "$BIN" bench saturate --connections 200 --rooms 10 --rate 100 --max-rate 101 \
    --duration "$secs" --coguest-bin "$WORK/server.sh" --server-cpus 0 \
    --out "$WORK/run-$secs.json" >/dev/null
  # Exactly one server process ran; its profile is written when it exits.
  mv "$WORK"/cg.*.out "$WORK/cg-$secs.out"
done

python3 - "$WORK" "$SERVER" > "$OUT" <<'EOF'
import json, re, subprocess, sys
work, server = sys.argv[1], sys.argv[2]

def total(secs):
    with open(f"{work}/cg-{secs}.out") as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise SystemExit(f"no totals in the profile of the {secs} s run")

def answered(secs):
    return json.load(open(f"{work}/run-{secs}.json"))["commands"]["answered"]

ir = [total(5), total(25)]
n = [answered(5), answered(25)]
per = (ir[1] - ir[0]) / (n[1] - n[0])
# The long run's largest functions (exclusive), for where the count goes.
out = subprocess.run(["callgrind_annotate", "--threshold=80", f"{work}/cg-25.out"],
                     capture_output=True, text=True).stdout
top = []
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)", line)
    if m and "PROGRAM TOTALS" not in line:
        name = re.sub(r"^.*?:", "", m.group(3).split(" [")[0], count=1)
        top.append({"function": name, "share": float(m.group(2)) / 100})
print(json.dumps({"server": server, "instructions_per_command": round(per),
                  "totals": ir, "answered": n, "top": top[:15]}, indent=1))
EOF
