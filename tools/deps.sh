#!/bin/bash
# Installs what building, running and testing pulpd needs (Debian 12).
set -e
PKGS="meson ninja-build gcc pkg-config gettext libglib2.0-dev libglib2.0-bin libsoup-3.0-dev
  libjson-glib-dev libgda-5.0-dev libsqlite3-dev libpolkit-gobject-1-dev libcreaterepo-c-dev librpm-dev libzstd-dev libssl-dev
  dbus dbus-daemon polkitd pkexec systemd createrepo-c rpm zstd nginx-light sqlite3 openssl
  glib-networking libxml2-utils python3 util-linux valgrind bc dnf dnf-plugins-core lftp wget
  curl man-db bash-completion postgresql libgda-5.0-postgres"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null | awk '$NF != "installed" {print $1}')
for p in $PKGS; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$(echo $missing)" ]; then
  echo "Installing: $(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q $(echo $missing | tr ' ' '\n' | sort -u)
fi
