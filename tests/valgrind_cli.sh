#!/bin/sh
# valgrind_cli.sh SEARCH_BIN SOURCE_DIR - the `search` tool end to end under
# Valgrind memcheck: index part of the bundled sample, query it (facets,
# JSON, date order), a TREC run, stats, delete and merge. Any memory error or
# leak fails the test (exit 9), as does any unexpected exit code.
set -eu
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg() {
    valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$bin" "$@"
}
gzip -dc "$src/examples/data/reuters21578-sample.jsonl.gz" | head -n 1500 > "$tmp/a.jsonl"
vg index "$tmp/ix" "$tmp/a.jsonl" -q --threads 2 > /dev/null
printf '{"id":"bad"\nnot json\n' > "$tmp/bad.jsonl"
vg index "$tmp/ix" "$tmp/bad.jsonl" -q > /dev/null 2>&1 || true
vg query "$tmp/ix" 'oil OR "crude prices" -opec date:1987-03..1987-04' --facets source,month > /dev/null
vg query "$tmp/ix" 'trade* AND title:japan' --json --sort -date > /dev/null
vg query "$tmp/ix" '(unbalanced' > /dev/null 2>&1 && exit 1
printf '1\toil prices\n2\t(bad\n3\tgrain exports\n' > "$tmp/topics.tsv"
vg run "$tmp/ix" "$tmp/topics.tsv" -k 20 --reps 1 --timings "$tmp/t.json" > /dev/null 2>&1
vg run "$tmp/ix" "$tmp/topics.tsv" --plain > /dev/null 2>&1
vg stats "$tmp/ix" --json > /dev/null
vg delete "$tmp/ix" reuters21578-1 reuters21578-2 > /dev/null
vg merge "$tmp/ix" > /dev/null
echo "valgrind_cli: clean"
