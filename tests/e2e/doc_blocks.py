#!/usr/bin/env python3
"""Prints one fenced code block of a Markdown file: the one right after the
line `<!-- test: NAME -->`. The docs mark the command sequences that the
end-to-end tests run as written; a marker that is missing, repeated or not
followed by a fence fails, so a doc cannot drift away from its test.

Usage: doc_blocks.py FILE NAME
"""
import re
import sys


def block(path, name):
    lines = open(path, encoding="utf-8").read().splitlines()
    marker = f"<!-- test: {name} -->"
    found = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(found) != 1:
        sys.exit(f"{path}: {len(found)} markers '{marker}', want exactly 1")
    start = found[0] + 1
    fence = re.match(r"^(```+|~~~+)", lines[start]) if start < len(lines) else None
    if not fence:
        sys.exit(f"{path}:{start + 1}: '{marker}' is not followed by a fenced block")
    body = []
    for line in lines[start + 1:]:
        if line.startswith(fence.group(1)):
            return "\n".join(body) + "\n"
        body.append(line)
    sys.exit(f"{path}:{start + 1}: the block after '{marker}' is not closed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.stdout.write(block(sys.argv[1], sys.argv[2]))
