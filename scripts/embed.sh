#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# embed.sh SYMBOL FILE: print a C file defining `const char SYMBOL[]` (FILE's bytes,
# NUL-terminated) and `const unsigned long SYMBOL_len`. Uses only od and sed.
set -eu
sym=$1 file=$2
echo "/* generated from $file by scripts/embed.sh; do not edit */"
echo "const char $sym[] = {"
od -An -v -tx1 "$file" | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//' -e '/^$/d' \
    -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0x00};"
echo "const unsigned long ${sym}_len = sizeof $sym - 1;"
