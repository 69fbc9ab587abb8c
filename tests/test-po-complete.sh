#!/bin/bash
# Every translatable string of the sources is in po/de.po and translated:
# a message catalogue that lags behind the code shows English to German
# users without anyone noticing.
set -eu
SRC=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$SRC"
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --add-comments -o "$WORK/c.pot" \
  $(grep -v '^#' po/POTFILES.in | grep '\.c$')
msgcmp po/de.po "$WORK/c.pot" 2>"$WORK/missing" || {
  echo "po/de.po lacks messages of the sources:"; cat "$WORK/missing"; exit 1; }
stats=$(msgfmt -c --statistics -o /dev/null po/de.po 2>&1)
echo "$stats"
case "$stats" in *untranslated*|*fuzzy*) exit 1 ;; esac
for c in $(grep -v '^#' po/POTFILES.in | grep '\.c$'); do
  [ -f "$c" ] || { echo "POTFILES.in names a missing file: $c"; exit 1; }
done
echo "1 passed, 0 failed"
