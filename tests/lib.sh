# Helpers shared by the end-to-end test scripts (sourced): TAP-style
# results counted in $pass and $fail, and short forms of busctl calls to
# pulpd on the (private) system bus.
pass=${pass:-0}
fail=${fail:-0}

ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok $((pass + fail)) - $1"; }
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected «$2», got «$3»"; fi
}
contains() { # contains DESCRIPTION NEEDLE HAYSTACK
  case "$3" in *"$2"*) ok "$1" ;; *) not_ok "$1: «$2» not in «$3»" ;; esac
}
lacks() { # lacks DESCRIPTION NEEDLE HAYSTACK
  case "$3" in *"$2"*) not_ok "$1: «$2» in «$3»" ;; *) ok "$1" ;; esac
}

call() { busctl --system call "$@" 2>&1; }
prop() { busctl --system get-property org.pulp.Manager "$1" "$2" "$3" 2>&1; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# The database: SQLite in $STATE, or the PostgreSQL server that
# test-postgresql.sh started (PULP_TEST_POSTGRESQL, PULP_TEST_PSQL).
# database_conf prints the [database] part of a pulpd.conf; sql QUERY
# asks the database.
database_conf() {
  [ -z "${PULP_TEST_POSTGRESQL:-}" ] || printf '[database]\nprovider=PostgreSQL\ncnc-string=%s\n' "$PULP_TEST_POSTGRESQL"
}
sql() {
  if [ -n "${PULP_TEST_POSTGRESQL:-}" ]; then $PULP_TEST_PSQL -tAc "$1"; else sqlite3 "$STATE/pulp.db" "$1"; fi
}
