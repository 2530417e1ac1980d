#!/bin/sh
# demo.sh BUILD_DIR - index the bundled Reuters sample into a fresh index
# and run a few example queries with the search CLI built in BUILD_DIR.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
search="$build/search"
index=$(mktemp -d "${TMPDIR:-/tmp}/newsdex-demo-XXXXXX")
trap 'rm -rf "$index"' EXIT

echo "== search index $index reuters21578-sample.jsonl.gz"
"$search" index "$index/reuters" "$here/data/reuters21578-sample.jsonl.gz"
echo
for q in 'cocoa prices brazil' '+opec -saudi oil output' 'yen dollar intervention' 'takeover bid'; do
    echo "== search query '$q' -k 3"
    "$search" query "$index/reuters" "$q" -k 3
done
echo "== search stats"
"$search" stats "$index/reuters"
