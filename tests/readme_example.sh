#!/bin/sh
# readme_example.sh SRC_DIR BUILD_DIR CC - compiles the C example of README.md
# (the block after the "api-example" marker) against the built library and
# runs it; it must print the article it indexed.
set -eu
src=$1 build=$2 cc=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/ndreadme-XXXXXX")
trap 'rm -rf "$work"' EXIT
awk '/<!-- api-example -->/{f=1; next} f && /^```c/{next} f && /^```/{exit} f' "$src/README.md" >"$work/example.c"
test -s "$work/example.c"
"$cc" -std=c11 -Wall -Wextra -Werror -I"$src/include" "$work/example.c" -o "$work/example" \
    -L"$build" -lnewsdex -Wl,-rpath,"$build" $EXTRA_LDFLAGS
cd "$work"
./example >out.txt
cat out.txt
grep -q '^a1 [0-9.]* Oil prices rise$' out.txt
