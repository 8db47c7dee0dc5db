#!/bin/sh
# Installs the Debian packages named on the command line that are missing.
# As root it runs apt-get; otherwise it prints the command to run.
missing=""
for p in "$@"; do
  # Node.js may come from another packaging (NodeSource's nodejs bundles npm): a working
  # command is enough for these two, so apt is not asked to replace it.
  case $p in
  nodejs) command -v node >/dev/null 2>&1 && continue ;;
  npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
  echo "deps: run as root:  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
apt-get install -y -qq $missing >/dev/null || exit 1
echo "deps: installed$missing"
