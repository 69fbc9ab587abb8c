#!/bin/bash
# Installs the build into a temporary DESTDIR and checks the files that
# architecture.md ("Files on a system") says a system gets, as a packager or
# an administrator would look at them.
#
# Usage: test-installed-tree.sh BUILDDIR
# Environment (set by tests/meson.build): PULP_PREFIX, PULP_BINDIR,
# PULP_LIBEXECDIR, PULP_DATADIR, PULP_SYSCONFDIR, PULP_LOCALEDIR,
# PULP_IMPORTERDIR, PULP_UNITDIR (all absolute; PULP_UNITDIR may be "no").
set -u

build=${1:?usage: $0 BUILDDIR}
: "${PULP_LIBEXECDIR:?} ${PULP_BINDIR:?} ${PULP_DATADIR:?} ${PULP_SYSCONFDIR:?}"
: "${PULP_LOCALEDIR:?} ${PULP_IMPORTERDIR:?} ${PULP_UNITDIR:?}"

dest=$(mktemp -d /tmp/pulp-installed-tree.XXXXXX) || exit 99
trap 'rm -rf "$dest"' EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# has FILE REGEX...: FILE exists and has a line matching each extended REGEX.
has() {
  local file=$1 re
  shift
  if [ ! -f "$file" ]; then
    fail "$file is not installed"
    return
  fi
  for re in "$@"; do
    grep -Eq -- "$re" "$file" || fail "$file has no line matching '$re'"
  done
}
xpath_count() {
  xmllint --xpath "count($2)" "$1" 2>/dev/null
}

# meson test has built everything already; do not run ninja from inside it.
if ! out=$(meson install -C "$build" --no-rebuild --destdir "$dest" 2>&1); then
  echo "$out" >&2
  echo "FAIL: meson install failed" >&2
  exit 1
fi

# Bus policy: only root owns the name, everyone may call.
conf=$dest$PULP_DATADIR/dbus-1/system.d/org.pulp.Manager.conf
if [ -f "$conf" ]; then
  xmllint --noout "$conf" || fail "$conf is not well-formed XML"
  [ "$(xpath_count "$conf" '/busconfig/policy[@user="root"]/allow[@own="org.pulp.Manager"]')" = 1 ] ||
    fail "$conf does not let root own org.pulp.Manager"
  [ "$(xpath_count "$conf" '//policy[not(@user="root")]/allow[@own or @own_prefix]')" = 0 ] ||
    fail "$conf lets someone besides root own a name"
  for iface in org.pulp.Manager org.pulp.Repository org.pulp.Task \
               org.freedesktop.DBus.Introspectable org.freedesktop.DBus.Properties \
               org.freedesktop.DBus.ObjectManager org.freedesktop.DBus.Peer; do
    [ "$(xpath_count "$conf" "/busconfig/policy[@context=\"default\"]/allow[@send_destination=\"org.pulp.Manager\" and @send_interface=\"$iface\"]")" = 1 ] ||
      fail "$conf does not let everyone call $iface"
  done
else
  fail "$conf is not installed"
fi

# Bus activation, handed to systemd.
has "$dest$PULP_DATADIR/dbus-1/system-services/org.pulp.Manager.service" \
  '^\[D-BUS Service\]$' '^Name=org\.pulp\.Manager$' "^Exec=$PULP_LIBEXECDIR/pulpd\$" \
  '^User=root$' '^SystemdService=pulpd\.service$'

# Introspection XML, exactly the source files.
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for iface in org.pulp.Manager org.pulp.Repository org.pulp.Task; do
  f=$dest$PULP_DATADIR/dbus-1/interfaces/$iface.xml
  if [ -f "$f" ]; then
    cmp -s "$f" "$srcdir/data/dbus/$iface.xml" || fail "$f differs from data/dbus/$iface.xml"
    [ "$(xpath_count "$f" "/node/interface[@name=\"$iface\"]")" = 1 ] ||
      fail "$f does not describe $iface"
  else
    fail "$f is not installed"
  fi
done

# polkit actions: the five of the contract, with their defaults and German texts.
policy=$dest$PULP_DATADIR/polkit-1/actions/org.pulp.policy
if [ -f "$policy" ]; then
  if [ -f /usr/share/polkit-1/policyconfig-1.dtd ]; then
    xmllint --noout --dtdvalid /usr/share/polkit-1/policyconfig-1.dtd "$policy" ||
      fail "$policy is not valid for polkit's DTD"
  fi
  [ "$(xpath_count "$policy" '/policyconfig/action')" = 5 ] ||
    fail "$policy does not have exactly 5 actions"
  for action in org.pulp.manage-repositories org.pulp.sync org.pulp.modify-content \
                org.pulp.cleanup org.pulp.cancel-task; do
    a="/policyconfig/action[@id=\"$action\"]"
    [ "$(xpath_count "$policy" "$a/defaults[allow_any=\"no\" and allow_inactive=\"no\" and allow_active=\"auth_admin_keep\"]")" = 1 ] ||
      fail "$action is missing or has other defaults than no/no/auth_admin_keep"
    [ "$(xpath_count "$policy" "$a/description[@xml:lang=\"de\"]")" = 1 ] ||
      fail "$action has no German description"
    [ "$(xpath_count "$policy" "$a/message[@xml:lang=\"de\" and starts-with(., \"Authentifizierung ist erforderlich\")]")" = 1 ] ||
      fail "$action has no German message"
  done
else
  fail "$policy is not installed"
fi
mo=$dest$PULP_LOCALEDIR/de/LC_MESSAGES/pulpd.mo
if [ -f "$mo" ]; then
  msgunfmt "$mo" | grep -q 'Authentifizierung ist erforderlich' || fail "$mo has no German messages"
else
  fail "$mo is not installed"
fi

# systemd unit: D-Bus activated and hardened.
if [ "$PULP_UNITDIR" != no ]; then
  unit=$dest$PULP_UNITDIR/pulpd.service
  has "$unit" '^Type=dbus$' '^BusName=org\.pulp\.Manager$' "^ExecStart=$PULP_LIBEXECDIR/pulpd\$" \
    '^StateDirectory=pulp$' '^ConfigurationDirectory=pulp$' \
    '^CapabilityBoundingSet=$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' \
    '^ProtectHome=yes$' '^PrivateTmp=yes$' '^PrivateDevices=yes$' \
    '^ProtectKernelTunables=yes$' '^ProtectKernelModules=yes$' '^ProtectKernelLogs=yes$' \
    '^ProtectControlGroups=yes$' '^ProtectClock=yes$' '^ProtectHostname=yes$' \
    '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$' '^RestrictNamespaces=yes$' \
    '^RestrictRealtime=yes$' '^RestrictSUIDSGID=yes$' '^LockPersonality=yes$' \
    '^MemoryDenyWriteExecute=yes$' '^SystemCallArchitectures=native$' \
    '^SystemCallFilter=@system-service$'
  if [ -f "$unit" ] && systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
    # 2.0 when written; fail if a change weakens the sandbox noticeably.
    systemd-analyze security --offline=true --threshold=25 --no-pager "$unit" >/dev/null 2>&1 ||
      fail "systemd-analyze security rates $unit above 2.5: $(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 | tail -1)"
  fi
fi

# Daemon settings: every key documented, commented out with its default.
cfg=$dest$PULP_SYSCONFDIR/pulp/pulpd.conf
has "$cfg" '^\[daemon\]$' '^#max-parallel-tasks=2$' '^#task-retention-seconds=86400$' \
  '^#upload-max-size=[0-9]+$' '^\[database\]$' '^#provider=SQLite$' '^#cnc-string=$'
if [ -f "$cfg" ]; then
  grep -Eq '^[a-z-]+=' "$cfg" && fail "$cfg sets a key instead of documenting the default"
  [ "$(stat -c %a "$cfg")" = 640 ] || fail "$cfg is not mode 640 (it may hold a password)"
fi

# Binaries: checked only when this build has them.
if [ -f "$build/src/pulpd/pulpd" ]; then
  [ -x "$dest$PULP_LIBEXECDIR/pulpd" ] || fail "$PULP_LIBEXECDIR/pulpd is not installed"
else
  echo "note: the build has no src/pulpd/pulpd, not checked"
fi
if [ -f "$build/src/pulpctl/pulpctl" ]; then
  [ -x "$dest$PULP_BINDIR/pulpctl" ] || fail "$PULP_BINDIR/pulpctl is not installed"
  has "$dest$PULP_DATADIR/man/man1/pulpctl.1" '^\.TH PULPCTL 1'
  completion=$(find "$dest" -path '*/bash-completion/completions/pulpctl' -type f | head -1)
  [ -n "$completion" ] && grep -q '^complete -F _pulpctl pulpctl$' "$completion" ||
    fail "no bash completion for pulpctl is installed"
else
  echo "note: the build has no src/pulpctl/pulpctl, not checked"
fi
found_importer=no
for so in "$build"/importers/*/*.so; do
  [ -f "$so" ] || continue
  found_importer=yes
  [ -f "$dest$PULP_IMPORTERDIR/$(basename "$so")" ] ||
    fail "importer $(basename "$so") is not installed in $PULP_IMPORTERDIR"
done
[ $found_importer = yes ] || echo "note: the build has no importers, not checked"

if [ $failures -ne 0 ]; then
  echo "$failures failure(s); installed tree:" >&2
  (cd "$dest" && find . -type f | sort) >&2
  exit 1
fi
echo "ok: installed tree"
