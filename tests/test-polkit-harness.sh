#!/bin/bash
# Checks the private-bus harness (run under tests/pulp-test-bus): polkitd
# knows the project's actions, authorizes root and refuses an unprivileged
# user, and the bus enforces the project's own bus policy.
set -u

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

if [ -z "${PULP_TEST_BUS_ADDRESS:-}" ]; then
  echo "run me under tests/pulp-test-bus" >&2
  exit 99
fi

# root: polkit always authorizes uid 0, but only for registered actions, so
# this also proves the built policy was loaded.
for action in org.pulp.manage-repositories org.pulp.sync org.pulp.modify-content \
              org.pulp.cleanup org.pulp.cancel-task; do
  if ! out=$(pkcheck --action-id "$action" --process $$ 2>&1); then
    fail "root is not authorized for $action: $out"
  fi
done
out=$(pkcheck --action-id org.pulp.no-such-action --process $$ 2>&1)
[ $? -ne 0 ] && [[ $out == *"is not registered"* ]] ||
  fail "an unregistered action was not refused: $out"

# nobody: allow_any is "no", and nobody has no active session.
# The subject is the pkcheck process itself (exec keeps the shell's pid).
out=$(as_nobody sh -c 'exec pkcheck --action-id org.pulp.sync --process $$' 2>&1)
rc=$?
[ $rc -eq 1 ] && [[ $out == *"Not authorized"* ]] ||
  fail "nobody got exit $rc for org.pulp.sync (want 1, 'Not authorized'): $out"

# The defaults polkitd reports are the contract's.
out=$(pkaction --action-id org.pulp.sync --verbose 2>&1)
[[ $out == *"implicit any:      no"* && $out == *"implicit inactive: no"* &&
   $out == *"implicit active:   auth_admin_keep"* ]] ||
  fail "unexpected defaults of org.pulp.sync: $out"

# The bus policy of data/dbus/org.pulp.Manager.conf: only root owns the name.
request_name() {
  dbus-send --bus="$PULP_TEST_BUS_ADDRESS" --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.RequestName string:org.pulp.Manager uint32:0 2>&1
}
out=$(request_name)
[ $? -eq 0 ] && [[ $out == *"uint32 1"* ]] || fail "root could not own org.pulp.Manager: $out"
out=$(as_nobody bash -c "$(declare -f request_name); request_name")
[ $? -ne 0 ] && [[ $out == *"AccessDenied"* && $out == *"org.pulp.Manager"* ]] ||
  fail "nobody was allowed to own org.pulp.Manager: $out"

if [ $failures -ne 0 ]; then
  exit 1
fi
echo "ok: polkit harness"
