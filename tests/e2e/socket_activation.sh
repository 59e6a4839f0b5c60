#!/usr/bin/env bash
# Socket activation: sloprobe serves on the listening socket it is passed.
# Usage: socket_activation.sh SLOPROBE TESTBED SOURCE_DIR
. "$(dirname "$0")/lib.sh"
python3 "$(dirname "$0")/socket_activation.py" "$1" "$E2E_DIR"
