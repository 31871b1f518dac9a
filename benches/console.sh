#!/usr/bin/env bash
# Console figures for the README (a documented script, not a timed test):
#   - first-frame and first-page time, and peak RSS, with a 1,000,000-message log;
#   - bytes written to the pty per navigation key (j, k, PgDn, Tab) at 120x40;
# each over RUNS runs (default 3), medians printed.
#
# Usage: benches/console.sh [BINARY]   (default target/release/retractor, else target/debug)
# Env:   RECORDS (default 1000000), RUNS (default 3), KEEP_DIR (reuse a store built before).
# Needs: python3, tmux, /usr/bin/time. Ingesting 1M records takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-}"
if [ -z "$BIN" ]; then
    if [ -x target/release/retractor ]; then BIN=target/release/retractor; else BIN=target/debug/retractor; fi
fi
BIN="$(realpath "$BIN")"
RECORDS="${RECORDS:-1000000}"
RUNS="${RUNS:-3}"
DIR="${KEEP_DIR:-$(mktemp -d /tmp/retractor-console-bench-XXXX)}"
mkdir -p "$DIR/mail/corp.test"
export HOME="$DIR/home" XDG_STATE_HOME="$DIR/home/state" XDG_DATA_HOME="$DIR/home/data" XDG_CONFIG_HOME="$DIR/home/config"
mkdir -p "$XDG_STATE_HOME"

if [ ! -f "$DIR/retractor.db" ]; then
    cat > "$DIR/config.toml" <<'EOF'
[store]
path = "retractor.db"
[access]
default_role = "admin"
[tenants.corp]
kind = "maildir"
root = "mail"
domains = ["corp.test"]
quarantine_mailbox = "quarantine@corp.test"
EOF
    echo "generating $RECORDS records ..."
    python3 - "$RECORDS" > "$DIR/log.jsonl" <<'EOF'
import json, sys, datetime
n = int(sys.argv[1])
base = datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc)
words = ["invoice", "meeting", "report", "payroll", "update", "review", "lunch", "contract"]
disp = ["clean"] * 8 + ["bulk", "spam", "suspicious", "malicious"]
out = sys.stdout
for i in range(n):
    t = base - datetime.timedelta(seconds=i * 7)
    out.write(json.dumps({
        "message_id": f"<m{i}@bench.example>",
        "from": f"sender{i % 5000}@ext{i % 97}.example",
        "to": [f"user{i % 2000}@corp.test", f"user{(i * 7) % 2000}@corp.test"],
        "subject": f"{words[i % 8]} {words[(i // 8) % 8]} #{i}",
        "received_at": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "disposition": disp[i % len(disp)],
    }) + "\n")
EOF
    echo "ingesting ..."
    /usr/bin/time -f "ingest: %e s, peak RSS %M KB" "$BIN" --config "$DIR/config.toml" --quiet ingest --format jsonl "$DIR/log.jsonl"
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
size() { stat -c %s "$1"; }
settle() { # wait until the recording stops growing for 200 ms
    local f=$1 last=-1 now
    for _ in $(seq 100); do now=$(size "$f"); [ "$now" = "$last" ] && break; last=$now; sleep 0.2; done
    size "$f"
}

T="tmux -L retractor-bench-$$ -f /dev/null"
trap '$T kill-server 2>/dev/null || true' EXIT
declare -a FIRST PAGE SHOWN RSS J K PGDN TAB
for run in $(seq "$RUNS"); do
    : > "$XDG_STATE_HOME/retractor/retractor.log" 2>/dev/null || true
    t0=$(date +%s%N)
    $T new-session -d -s b -x 120 -y 40 \
        "/usr/bin/time -f '%M' -o '$DIR/rss.$run' '$BIN' --config '$DIR/config.toml'"
    for _ in $(seq 3000); do $T capture-pane -t b -p | grep -q "Messages 1 of" && break; sleep 0.02; done
    SHOWN+=($(( ($(date +%s%N) - t0) / 1000000 )))
    raw="$DIR/raw.$run"; : > "$raw"
    $T pipe-pane -t b -o "cat >> '$raw'"
    settle "$raw" >/dev/null
    for key in j k PgDn Tab; do
        before=$(settle "$raw")
        case $key in PgDn) $T send-keys -t b NPage;; *) $T send-keys -t b "$key";; esac
        after=$(settle "$raw")
        case $key in j) J+=($((after - before)));; k) K+=($((after - before)));; PgDn) PGDN+=($((after - before)));; Tab) TAB+=($((after - before)));; esac
    done
    $T send-keys -t b q
    for _ in $(seq 100); do $T has-session -t b 2>/dev/null || break; sleep 0.1; done
    log="$XDG_STATE_HOME/retractor/retractor.log"
    FIRST+=("$(grep 'console: first frame' "$log" | tail -1 | sed 's/.*ms=\([0-9]*\).*/\1/')")
    PAGE+=("$(grep 'console: first page' "$log" | tail -1 | sed 's/.*ms=\([0-9]*\).*/\1/')")
    RSS+=("$(tail -1 "$DIR/rss.$run")")
    echo "run $run: launch to rows on the pane ${SHOWN[-1]} ms; in-process: first frame ${FIRST[-1]} ms, first page ${PAGE[-1]} ms, peak RSS ${RSS[-1]} KB, bytes j=${J[-1]} k=${K[-1]} PgDn=${PGDN[-1]} Tab=${TAB[-1]}"
done
echo "medians over $RUNS runs ($RECORDS messages, 120x40, $(basename "$BIN") build):"
echo "  launch to rows on the pane (tmux poll, 20 ms steps) $(printf '%s\n' "${SHOWN[@]}" | median) ms"
echo "  in-process (console start): first frame $(printf '%s\n' "${FIRST[@]}" | median) ms; first page $(printf '%s\n' "${PAGE[@]}" | median) ms; peak RSS $(printf '%s\n' "${RSS[@]}" | median) KB"
echo "  bytes per key: j $(printf '%s\n' "${J[@]}" | median), k $(printf '%s\n' "${K[@]}" | median), PgDn $(printf '%s\n' "${PGDN[@]}" | median), Tab $(printf '%s\n' "${TAB[@]}" | median)"
echo "store kept in $DIR (KEEP_DIR=$DIR to reuse)"
