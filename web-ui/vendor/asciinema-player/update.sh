#!/bin/sh
# Fetches the pinned asciinema-player from the npm registry into this directory: the
# bundle the console embeds (include_bytes! in web-ui/src/assets.rs) and its licence.
# The one documented way to update it: change VERSION, run this, review the diff, commit.
# Nothing is fetched at build or run time; no CDN.
set -eu
VERSION=3.18.0
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "asciinema-player@$VERSION" >/dev/null
tar xzf "asciinema-player-$VERSION.tgz"
cp package/dist/bundle/asciinema-player.min.js "$here/asciinema-player.min.js"
cp package/dist/bundle/asciinema-player.css "$here/asciinema-player.css"
cp package/LICENSE "$here/LICENSE"
echo "$VERSION" > "$here/VERSION"
sha256sum "$here/asciinema-player.min.js" "$here/asciinema-player.css" "$here/LICENSE" \
  | sed "s#$here/##" > "$here/SHA256SUMS"
echo "asciinema-player $VERSION in $here"
