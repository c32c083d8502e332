#!/usr/bin/env bash
# Fetches @xterm/xterm from the npm registry into this directory: the browser build
# (lib/xterm.js), its stylesheet (css/xterm.css) and its licence. The console embeds these
# files in the binary (web-ui/src/assets.rs); nothing is fetched at build or run time.
#
#   web-ui/vendor/xterm/update.sh            # the version in ./VERSION
#   web-ui/vendor/xterm/update.sh 6.0.1      # another version (then rebuild and re-test)
#
# npm checks the tarball against the registry's integrity hash; SHA256SUMS records what
# was taken, so a change to these files shows in review.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-$(cat "$here/VERSION")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@xterm/xterm@$version" >/dev/null)
tar -xzf "$work/xterm-xterm-$version.tgz" -C "$work"
# The browser build without its source-map comment (the map is not shipped).
sed '/^\/\/# sourceMappingURL=/d' "$work/package/lib/xterm.js" >"$here/xterm.js"
cp "$work/package/css/xterm.css" "$here/xterm.css"
cp "$work/package/LICENSE" "$here/LICENSE"
grep -q '"license": "MIT"' "$work/package/package.json"
echo "$version" >"$here/VERSION"
(cd "$here" && sha256sum xterm.js xterm.css LICENSE >SHA256SUMS)
echo "@xterm/xterm $version -> $here"
