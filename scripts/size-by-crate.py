#!/usr/bin/env python3
"""Where a library's code goes, by crate: sums the sizes of the code symbols
that `nm -S -C` lists (text and weak symbols) under the crate each symbol's
name starts with, and prints a Markdown table (largest first).

usage: nm -S -C --size-sort LIB | scripts/size-by-crate.py [TOP]"""
import re
import sys
from collections import Counter

top = int(sys.argv[1]) if len(sys.argv) > 1 else 15
sizes = Counter()
total = 0
for line in sys.stdin:
    parts = line.split(None, 3)
    if len(parts) != 4 or parts[2] not in "tTwW":
        continue
    size = int(parts[1], 16)
    name = parts[3].strip()
    # `<a::B as c::D>::f` is a's code; `_ZN…`/C symbols have no crate path.
    m = re.match(r"<?&?(?:mut )?(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)::", name)
    crate = m.group(1) if m else "(no crate path: C, compiler builtins, UniFFI exports)"
    sizes[crate] += size
    total += size
print("| crate | code KiB |")
print("|---|---|")
for crate, size in sizes.most_common(top):
    print(f"| {crate} | {size / 1024:.0f} |")
rest = total - sum(s for _, s in sizes.most_common(top))
print(f"| everything else | {rest / 1024:.0f} |")
print(f"| **total code in symbols** | **{total / 1024:.0f}** |")
