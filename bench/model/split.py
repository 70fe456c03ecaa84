#!/usr/bin/python3
"""Prints the corpus files of one part of the benchmark split, one path a line.

    split.py train|test DIR...

A file is in the test part when FNV-1a-64 of its file name (no directory) is 0 mod 5, the
same rule as relaygate::model::in_test_split; every other file is in the train part.
"""
import os
import sys

FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
MASK = (1 << 64) - 1


def fnv1a(data: bytes) -> int:
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & MASK
    return value


def in_test_split(name: str) -> bool:
    return fnv1a(os.fsencode(name)) % 5 == 0


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] not in ("train", "test"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    want_test = sys.argv[1] == "test"
    for directory in sys.argv[2:]:
        for name in sorted(os.listdir(directory)):
            if in_test_split(name) == want_test:
                print(os.path.join(directory, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
