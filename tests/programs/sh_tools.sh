#!/bin/bash
# sh_tools.sh - echo and printf (bash builtins, written by bash itself) and
# cat, a separate process: of a file to stdout (a pipe, or a regular file,
# where GNU cat uses copy_file_range), into a pipe, and into a file that is
# not stdout (which must not be captured). Exits 5.
set -e
src="$TMPDIR/cat-source.txt"
printf 'cat line %d\n' 1 2 3 > "$src"
echo "echo line one"
echo "echo to stderr" >&2
printf 'printf %s %d\n' word 42
cat "$src"
cat "$src" | cat
cat "$src" > "$TMPDIR/copy.txt"
cmp "$src" "$TMPDIR/copy.txt"
echo "echo done"
exit 5
