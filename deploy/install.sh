#!/bin/sh
# Installs Stampede's daemons on one host (Debian 12 or similar, systemd), as root:
#   - bin/stampede, bin/stampede-master, bin/stampede-worker -> /usr/local/bin
#   - a `stampede` system user and group
#   - /etc/stampede (root:stampede 0750) with the shared key /etc/stampede/key
#     (stampede:stampede 0600; made with `head -c 32 /dev/urandom | base64` if absent,
#     or copied from --key-from FILE) and master.env / worker.env (written if absent)
#   - /var/lib/stampede/results (the master's results)
#   - the unit files in /etc/systemd/system, then `systemctl daemon-reload` when systemd
#     runs here. Nothing is enabled or started: the script says how.
# Idempotent: run it again after `make` to update the binaries and units; an existing
# key or env file is never overwritten.
#
# Usage: sh deploy/install.sh [--master-only | --worker-only] [--master-url URL]
#                             [--key-from FILE] [--bin DIR] [--dry-run]
# Build first: `make deps && make` (the binaries are taken from the repository's bin/).
set -eu

PROG=install.sh
HERE=$(cd "$(dirname "$0")" && pwd)
BIN_DIR=$(cd "$HERE/.." && pwd)/bin
PREFIX_BIN=/usr/local/bin
DOC_DIR=/usr/local/share/doc/stampede
ETC=/etc/stampede
KEY=$ETC/key
UI_AUTH=$ETC/ui-auth
STATE=/var/lib/stampede
UNIT_DIR=/etc/systemd/system
USER_NAME=stampede

want_master=1
want_worker=1
dry_run=0
master_url=
key_from=

usage() {
    cat <<EOF
usage: sh deploy/install.sh [--master-only | --worker-only] [--master-url URL]
                            [--key-from FILE] [--bin DIR] [--dry-run]
  --master-only     install the master's unit and master.env only
  --worker-only     install the worker's unit and worker.env only
  --master-url URL  the master's worker port for a new worker.env (tcp://HOST:5557)
  --key-from FILE   install this shared key as $KEY when none is there
                    (every worker needs the master's key)
  --bin DIR         where the built binaries are (default $BIN_DIR)
  --dry-run         print the commands instead of running them (no root needed)
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*"; }

while [ $# -gt 0 ]; do
    case $1 in
    --master-only) want_worker=0 ;;
    --worker-only) want_master=0 ;;
    --master-url) [ $# -ge 2 ] || die "--master-url needs a value"; master_url=$2; shift ;;
    --master-url=*) master_url=${1#*=} ;;
    --key-from) [ $# -ge 2 ] || die "--key-from needs a value"; key_from=$2; shift ;;
    --key-from=*) key_from=${1#*=} ;;
    --bin) [ $# -ge 2 ] || die "--bin needs a value"; BIN_DIR=$2; shift ;;
    --bin=*) BIN_DIR=${1#*=} ;;
    --dry-run|-n) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done
[ $want_master -eq 1 ] || [ $want_worker -eq 1 ] || die "--master-only and --worker-only exclude each other"
case $master_url in
''|tcp://*|tls+tcp://*) ;;
*) die "--master-url wants tcp://HOST:PORT or tls+tcp://HOST:PORT, got \"$master_url\"" ;;
esac

# Quotes one word for display so that a dry run prints commands that could be pasted.
quote() {
    case $1 in
    *[!A-Za-z0-9_./:=,+@%-]*|'') printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
    esac
}

# Runs a command, or prints it under --dry-run.
run() {
    if [ $dry_run -eq 1 ]; then
        line=
        for w in "$@"; do line="$line $(quote "$w")"; done
        echo "+$line"
    else
        "$@"
    fi
}

# Writes standard input to FILE (mode MODE, owner OWNER) unless FILE exists.
# Under --dry-run prints what it would write.
write_new() {   # write_new FILE MODE OWNER
    if [ -e "$1" ]; then
        say "kept $1 (exists)"
        cat >/dev/null
        return 0
    fi
    if [ $dry_run -eq 1 ]; then
        echo "+ cat > $(quote "$1") <<'EOF'"
        cat
        echo "EOF"
        run chmod "$2" "$1"
        run chown "$3" "$1"
    else
        (umask 077 && cat >"$1")
        chmod "$2" "$1"
        chown "$3" "$1"
    fi
    say "wrote $1"
}

# --- checks -----------------------------------------------------------------------
bins="stampede stampede-master stampede-worker"
for b in $bins; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not found: build first with \`make deps && make\`"
done
for u in stampede-master.service stampede-worker.service; do
    [ -f "$HERE/$u" ] || die "$HERE/$u not found"
done
if [ -n "$key_from" ] && [ ! -r "$key_from" ]; then
    die "--key-from $key_from: not readable"
fi
if [ $dry_run -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (or with --dry-run to see the commands)"
fi
[ $dry_run -eq 1 ] && say "dry run: nothing is changed; the commands follow"

# --- binaries ---------------------------------------------------------------------
run install -d -m 0755 "$PREFIX_BIN"
for b in $bins; do
    run install -m 0755 "$BIN_DIR/$b" "$PREFIX_BIN/$b"
    say "installed $PREFIX_BIN/$b"
done
run install -d -m 0755 "$DOC_DIR"
run install -m 0644 "$HERE/README.md" "$DOC_DIR/README.md"

# --- user -------------------------------------------------------------------------
if id "$USER_NAME" >/dev/null 2>&1; then
    say "kept user $USER_NAME (exists)"
else
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/bin/false
    if command -v useradd >/dev/null 2>&1; then
        run useradd --system --user-group --home-dir "$STATE" --no-create-home \
            --shell "$nologin" --comment "Stampede load generator" "$USER_NAME"
    elif command -v adduser >/dev/null 2>&1; then
        run adduser --system --group --home "$STATE" --no-create-home \
            --shell "$nologin" "$USER_NAME"
    else
        die "neither useradd nor adduser found: create a system user $USER_NAME by hand"
    fi
    say "created system user $USER_NAME"
fi

# --- directories ------------------------------------------------------------------
run install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$STATE"
if [ $want_master -eq 1 ]; then
    run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$STATE/results"
fi
say "directories $ETC and $STATE ready"

# --- shared key -------------------------------------------------------------------
# At least 16 bytes, readable by its owner only (the daemons refuse anything else);
# trailing white space is not part of the key.
key_made=0
if [ -e "$KEY" ]; then
    say "kept $KEY (exists)"
elif [ -n "$key_from" ]; then
    run install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$key_from" "$KEY"
    say "installed $KEY from $key_from"
else
    run sh -c "umask 077 && head -c 32 /dev/urandom | base64 > $KEY"
    run chown "$USER_NAME:$USER_NAME" "$KEY"
    run chmod 0600 "$KEY"
    key_made=1
    say "generated a new shared key in $KEY"
fi

# --- API password -------------------------------------------------------------------
# USER:PASS for the master's HTTP API and dashboard, read with --ui-auth-file (the master
# refuses the file unless only its owner can read it). Never --ui-auth on the command
# line: every local user can read a process's arguments.
ui_auth_made=0
if [ $want_master -eq 1 ]; then
    if [ -e "$UI_AUTH" ]; then
        say "kept $UI_AUTH (exists)"
    else
        run sh -c "umask 077 && printf 'stampede:%s\n' \"\$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')\" > $UI_AUTH"
        run chown "$USER_NAME:$USER_NAME" "$UI_AUTH"
        run chmod 0600 "$UI_AUTH"
        ui_auth_made=1
        say "generated the API's user and password in $UI_AUTH"
    fi
fi

# --- env files --------------------------------------------------------------------
if [ $want_master -eq 1 ]; then
    write_new "$ETC/master.env" 0644 root:root <<EOF
# Options of stampede-master (see \`stampede-master --help\` and $DOC_DIR/README.md).
# The API (--http) asks for the user and password in $UI_AUTH (--ui-auth-file; clients:
# http://USER:PASS@HOST:8089). Reached by a host name other than an address, localhost or
# this host's name? Add --ui-host NAME (the Host header is checked).
# For TLS add: --tls-cert $ETC/master.pem --tls-key $ETC/master.key --tls-ca $ETC/ca.pem
STAMPEDE_MASTER_ARGS=--listen tcp://0.0.0.0:5557 --http 127.0.0.1:8089 --ui-auth-file $UI_AUTH --key-file $KEY --results-dir $STATE/results
EOF
fi
if [ $want_worker -eq 1 ]; then
    url=${master_url:-tcp://MASTER_HOST:5557}
    write_new "$ETC/worker.env" 0644 root:root <<EOF
# Options of stampede-worker (see \`stampede-worker --help\` and $DOC_DIR/README.md).
# --master: the master's worker port. --allow: the target networks this worker may
# load; it replaces the default (loopback only), so list every network under test.
# --threads N: engine threads (default one per CPU).
# For TLS use tls+tcp:// and add: --tls-cert $ETC/worker.pem --tls-key $ETC/worker.key --tls-ca $ETC/ca.pem
STAMPEDE_WORKER_ARGS=--master $url --key-file $KEY --allow 127.0.0.0/8,::1/128
EOF
fi

# --- units ------------------------------------------------------------------------
units=
[ $want_master -eq 1 ] && units="$units stampede-master.service"
[ $want_worker -eq 1 ] && units="$units stampede-worker.service"
for u in $units; do
    run install -m 0644 "$HERE/$u" "$UNIT_DIR/$u"
    say "installed $UNIT_DIR/$u"
done
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    say "systemd reloaded"
elif command -v systemctl >/dev/null 2>&1; then
    say "systemd is not running here: skipped systemctl daemon-reload"
else
    say "no systemctl: skipped daemon-reload (the units are in $UNIT_DIR)"
fi

# --- what next --------------------------------------------------------------------
echo
if [ $dry_run -eq 1 ]; then say "dry run done: nothing was changed. Then:"; else say "done. Next:"; fi
if [ $want_worker -eq 1 ]; then
    if [ -z "$master_url" ]; then
        echo "  - set the master's address and the target networks (--allow) in $ETC/worker.env"
    else
        echo "  - set the target networks (--allow) in $ETC/worker.env"
    fi
    if [ $key_made -eq 1 ] && [ $want_master -eq 0 ]; then
        echo "  - a new key was generated: replace $KEY with the master's key (same file on every host)"
    fi
fi
if [ $want_master -eq 1 ]; then
    echo "  - the API's USER:PASS is in $UI_AUTH (root can read it): stampede run ... --master http://USER:PASS@127.0.0.1:8089"
fi
if [ $want_master -eq 1 ] && [ $want_worker -eq 0 ]; then
    echo "  - copy $KEY to every worker host (e.g. install.sh --worker-only --key-from FILE)"
fi
for u in $units; do
    echo "  - systemctl enable --now $u    (after an upgrade: systemctl restart $u)"
done
