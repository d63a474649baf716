#!/usr/bin/env bash
# Postfix baseline: the figure Mailroom must meet. Installs Postfix from Debian
# if missing (debconf "No configuration", so the system instance stays
# unconfigured and stopped), builds a THROWAWAY instance under $BASE (its own
# config, queue, data and Maildir directories; started with `postfix -c`, so
# /etc/postfix is never touched) listening only on 127.0.0.1:$PORT with
# virtual mailbox delivery to Maildir for user1..user$USERS@example.org, runs
# bench/smtp-load.ts against it (default 50 sessions × 200 messages × 10 KB × 1
# recipient = 10,000 messages), then waits until every accepted message is a
# file in a Maildir new/ directory (or the queue is empty) and reports both the
# SMTP-acceptance rate and the end-to-end stored-in-Maildir rate (messages /
# time from the first connection until the last file appeared). Postfix fsyncs
# its queue file before 250 and the Maildir file before it counts as
# delivered. Stops the instance on exit. Idempotent: rerunning wipes and
# rebuilds $BASE (only if it carries this script's marker file).
#
# Usage (as root): bash bench/postfix-baseline.sh [--json]
# Environment: PORT=2526 BASE=/tmp/mailroom-postfix-bench SESSIONS=50
#   MESSAGES=200 (per session) SIZE=10k RCPTS=1 USERS=100 BDAT= (1 = use BDAT)
#   DELIVERY_TIMEOUT=600 (seconds to wait for Maildir delivery) KEEP= (1 = leave it running)
#   EXTRA_MAIN_CF= (lines appended to main.cf, e.g. "in_flow_delay = 0" to see
#   acceptance without Postfix's flow control, which by default pauses smtpd
#   up to 1 s per message while delivery lags behind arrivals)
set -euo pipefail

PORT=${PORT:-2526}
BASE=${BASE:-/tmp/mailroom-postfix-bench}
SESSIONS=${SESSIONS:-50}
MESSAGES=${MESSAGES:-200}
SIZE=${SIZE:-10k}
RCPTS=${RCPTS:-1}
USERS=${USERS:-100}
BDAT=${BDAT:-}
DELIVERY_TIMEOUT=${DELIVERY_TIMEOUT:-600}
KEEP=${KEEP:-}
EXTRA_MAIN_CF=${EXTRA_MAIN_CF:-}
JSON=
[[ "${1:-}" == "--json" ]] && JSON=1

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
export PATH="$ROOT/node_modules/.bin:$PATH"
MARKER=.mailroom-postfix-bench
VMAIL_UID=65534 # nobody: delivered files belong to no real account
VMAIL_GID=65534

say() { echo "postfix-baseline: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (installs Postfix, delivers as uid $VMAIL_UID)"
[[ "$BASE" == /* && "$BASE" != "/" && ${#BASE} -gt 5 ]] || die "BASE must be an absolute path, not /"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' \
  || die "needs Node 24 first on PATH (run npm ci in $ROOT)"

# 1. Install Postfix if missing, without configuring or starting the system instance.
if ! command -v postfix >/dev/null 2>&1 || [[ ! -x /usr/lib/postfix/sbin/master ]]; then
  say "installing postfix from Debian"
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postfix >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q postfix >/dev/null; }
fi
POSTFIX_VERSION=$(postconf -d -h mail_version 2>/dev/null || echo unknown)

ETC=$BASE/etc
SPOOL=$BASE/spool
VMAIL=$BASE/vmail

stop_instance() {
  if [[ -f $ETC/main.cf ]] && postfix -c "$ETC" status >/dev/null 2>&1; then
    postfix -c "$ETC" stop >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
      postfix -c "$ETC" status >/dev/null 2>&1 || break
      sleep 0.1
    done
  fi
  # A master that did not stop (e.g. main.cf was edited by hand): by its pid file only.
  local pidf=$SPOOL/pid/master.pid
  if [[ -f $pidf ]]; then
    local pid
    pid=$(tr -dc '0-9' <"$pidf")
    if [[ -n "$pid" ]] && [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == master ]]; then
      kill "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
}

# 2. A clean throwaway instance, rebuilt on every run.
if [[ -e $BASE ]]; then
  [[ -f $BASE/$MARKER ]] || die "$BASE exists and is not ours (no $MARKER): refusing to remove it"
  stop_instance
  rm -rf "$BASE"
fi
if ss -Hltn "sport = :$PORT" | grep -q .; then die "port $PORT is already in use"; fi
mkdir -p "$ETC" "$SPOOL" "$BASE/lib" "$VMAIL" "$BASE/log"
touch "$BASE/$MARKER"
chown "$VMAIL_UID:$VMAIL_GID" "$VMAIL"
chown postfix "$BASE/lib"
chmod 700 "$BASE/lib"
chmod 755 "$BASE"

cat >"$ETC/main.cf" <<EOF
# Throwaway benchmark instance written by bench/postfix-baseline.sh. Loopback only.
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $BASE/lib
mail_owner = postfix
setgid_group = postdrop
maillog_file = $BASE/log/maillog
maillog_file_prefixes = $BASE
myhostname = postfix-bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
biff = no
append_dot_mydomain = no
readme_directory = no
notify_classes =
# Nothing is delivered locally or relayed: only the virtual domain below.
local_transport = error:local delivery is disabled
local_recipient_maps =
alias_maps =
alias_database =
default_transport = error:relaying is disabled in this benchmark
# No DNS at all: the client's name is not looked up, nothing goes out.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
# Virtual mailboxes in Maildir (a map value ending in "/" means Maildir).
virtual_mailbox_domains = example.org
virtual_mailbox_maps = texthash:$ETC/vmailbox
virtual_mailbox_base = $VMAIL
virtual_uid_maps = static:$VMAIL_UID
virtual_gid_maps = static:$VMAIL_GID
virtual_minimum_uid = 100
virtual_alias_maps =
# Permissive for loopback; recipients are still checked against the map.
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
# Room for 50+ concurrent sessions from one client.
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
EOF
[[ -n "$EXTRA_MAIN_CF" ]] && printf '%s\n' "$EXTRA_MAIN_CF" >>"$ETC/main.cf"

# Debian's master.cf without chroot (our queue directory has no chroot files)
# and with the only inet service on 127.0.0.1:$PORT.
cat >"$ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$PORT inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

for i in $(seq 1 "$USERS"); do echo "user$i@example.org example.org/user$i/"; done >"$ETC/vmailbox"

# 3. Start it (postfix check creates the queue and data directories).
cleanup() {
  if [[ -z "$KEEP" ]]; then stop_instance; else say "left running: postfix -c $ETC stop"; fi
}
trap cleanup EXIT
postfix -c "$ETC" check >/dev/null 2>&1 || { postfix -c "$ETC" check || true; }
postfix -c "$ETC" start >/dev/null 2>&1 || { tail -20 "$BASE/log/maillog" 2>/dev/null; die "postfix did not start"; }
for _ in $(seq 1 100); do
  ss -Hltn "sport = :$PORT" | grep -q . && break
  sleep 0.1
done
ss -Hltn "sport = :$PORT" | grep -q "127.0.0.1:$PORT" || die "postfix is not listening on 127.0.0.1:$PORT"
if ss -Hltn | grep -v '127.0.0.1:' | grep -q ":$PORT "; then die "something listens on :$PORT beyond loopback"; fi
MASTER_PID=$(tr -dc '0-9' <"$SPOOL/pid/master.pid")
say "postfix $POSTFIX_VERSION (master pid $MASTER_PID) on 127.0.0.1:$PORT; sending $((SESSIONS * MESSAGES)) messages"

# 4. Load.
LOAD_ARGS=(--host 127.0.0.1 --port "$PORT" --sessions "$SESSIONS" --messages "$MESSAGES" --size "$SIZE"
  --rcpts "$RCPTS" --to 'user{n}@example.org' --to-range "$USERS" --from bench@example.net
  --server-pid "$MASTER_PID" --server-tree --json --timeout 15m)
[[ -n "$BDAT" ]] && LOAD_ARGS+=(--bdat)
node "$ROOT/bench/smtp-load.ts" "${LOAD_ARGS[@]}" >"$BASE/load.json" || true
[[ -s $BASE/load.json ]] || die "the load generator produced no result"
jsonval() { node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); const v=process.argv[2].split(".").reduce((o,k)=>o?.[k],r); console.log(v ?? "")' "$BASE/load.json" "$1"; }
ACCEPTED=$(jsonval accepted)
STARTED_MS=$(jsonval startedAt)
EXPECT=$((ACCEPTED * RCPTS))
SMTP_DONE=$(date +%s.%N)

# 5. Wait until every accepted message is a Maildir file, or the queue is empty and stays so.
count_delivered() { find "$VMAIL" -path '*/new/*' -type f 2>/dev/null | wc -l; }
count_queued() { find "$SPOOL"/{maildrop,incoming,active,deferred,hold} -type f 2>/dev/null | wc -l; }
deadline=$(($(date +%s) + DELIVERY_TIMEOUT))
empty_seen=0
last_progress=$(date +%s)
last_count=-1
while :; do
  delivered=$(count_delivered)
  ((delivered >= EXPECT)) && break
  now=$(date +%s)
  if ((delivered != last_count)); then
    last_count=$delivered
    last_progress=$now
  elif ((now - last_progress >= 60)); then
    say "no delivery progress for 60 s ($delivered of $EXPECT); see $BASE/log/maillog"
    break
  fi
  if (($(count_queued) == 0)); then
    empty_seen=$((empty_seen + 1))
    ((empty_seen >= 10)) && break # 2 s of an empty queue: nothing more is coming
  else
    empty_seen=0
  fi
  ((now < deadline)) || { say "gave up waiting for delivery after ${DELIVERY_TIMEOUT}s"; break; }
  sleep 0.2
done
DELIVERED=$(count_delivered)
QUEUED=$(count_queued)
LAST_FILE=$(find "$VMAIL" -path '*/new/*' -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
LAST_FILE=${LAST_FILE:-0}
DEFERRED=$(find "$SPOOL/deferred" -type f 2>/dev/null | wc -l)

# 6. Report.
node --input-type=module - "$ROOT/bench/smtp-load.ts" "$BASE/load.json" "$DELIVERED" "$EXPECT" "$LAST_FILE" "$STARTED_MS" "$QUEUED" "$DEFERRED" "$POSTFIX_VERSION" "${JSON:-}" "$SMTP_DONE" <<'EOF'
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [loadgen, file, delivered, expect, lastFile, startedMs, queued, deferred, version, json, smtpDone] = process.argv.slice(2);
const r = JSON.parse(readFileSync(file, 'utf8'));
const { formatResult } = await import(pathToFileURL(loadgen).href);
const e2eSeconds = Number(lastFile) > 0 ? Number(lastFile) - Number(startedMs) / 1000 : 0;
const out = {
  postfix: version,
  smtp: r,
  smtpAcceptRate: r.msgPerSec,
  delivered: Number(delivered),
  expected: Number(expect),
  stillQueued: Number(queued),
  deferred: Number(deferred),
  e2eSeconds,
  maildirRate: e2eSeconds > 0 ? Number(delivered) / e2eSeconds : 0,
  deliveryLagSeconds: Number(lastFile) - Number(smtpDone),
};
if (json) {
  console.log(JSON.stringify(out));
} else {
  console.log(`Postfix ${version} baseline (loopback, Maildir, fsync)\n`);
  console.log(formatResult(r));
  const rows = [
    ['SMTP-accept rate', `${r.msgPerSec.toFixed(0)} msg/s (${r.accepted} in ${r.elapsed.toFixed(2)} s)`],
    ['delivered to Maildir', `${delivered} of ${expect} expected${Number(queued) ? `, ${queued} still queued` : ''}${Number(deferred) ? `, ${deferred} deferred` : ''}`],
    ['stored-in-Maildir rate', `${out.maildirRate.toFixed(0)} msg/s (last file ${e2eSeconds.toFixed(2)} s after the first connection)`],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  console.log('\n' + rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}
EOF
