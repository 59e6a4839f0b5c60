#!/usr/bin/env bash
# The sd_notify sequence against a datagram socket the test owns.
# Usage: notify.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
python3 "$(dirname "$0")/notify_protocol.py" "$1" "$E2E_DIR"
