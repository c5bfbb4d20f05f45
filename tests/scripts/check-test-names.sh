#!/usr/bin/env bash
# Catch2 test names become ctest names (catch_discover_tests), and CMake reads a
# ';' in a name as a list separator: the test is split into two that do not
# exist, and ctest fails on a clean clone. No test name may hold one.
# Usage: check-test-names.sh TESTS_DIR
set -euo pipefail
# A name may start on the line after TEST_CASE( and be written as several adjacent literals
# (clang-format breaks long ones): the whole run of literals is the name.
found=$(find "$1" \( -name '*.cpp' -o -name '*.cu' \) -print0 |
  xargs -0 perl -0777 -ne 'while (/TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)/g) {
    my $name = $1; print "$ARGV: $name\n" if $name =~ /;/ }')
[[ -z $found ]] || { echo "FAIL: a test name holds ';' (write ',' instead):"; echo "$found"; exit 1; }
echo "test names: none holds ';'"
