#!/usr/bin/env bash
# The test command: installs what the tests need (apt: postgresql, chromium;
# pip: the package with its `test` extra; npm: the reference PDS and libraries
# into .cache/node), starts PostgreSQL and the Bluesky PDS on 127.0.0.1, runs
# `python -m pytest` with any arguments given here, then stops the services.
# Safe to run again and again: installed pieces are skipped.
#
#   bash scripts/test.sh                      the whole suite
#   bash scripts/test.sh tests/test_x.py -k y  any pytest arguments
set -euo pipefail

# shellcheck source=scripts/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"
cd "$SERVICES_REPO_ROOT"

set_exit_traps

start_services

say "python -m pytest $*"
status=0
"$SERVICES_PYTHON" -m pytest "$@" || status=$?
case "$status" in
    0) say "tests passed" ;;
    5) say "pytest collected no tests: counted as a failure" ;;
    *) say "tests failed (pytest exit $status)" ;;
esac
exit "$status"
