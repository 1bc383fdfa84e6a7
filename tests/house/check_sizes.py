#!/usr/bin/env python3
"""The house rule for size: each source file under emulator/ has one job, and as a sanity check
none is over 500 lines. A file that grows past it is split by job (a room's second concern gets
its own file), not trimmed.

    check_sizes.py [--root DIR]   checks the tree (default: the checkout this file is in)
    check_sizes.py --self-test    plants an oversized file in a copy and checks it is caught
"""
import argparse
import pathlib
import shutil
import sys
import tempfile

LIMIT = 500
SUFFIXES = (".cpp", ".hpp", ".h", ".cc", ".py")


def check(root):
    emulator = pathlib.Path(root) / "emulator"
    problems = []
    for path in sorted(emulator.rglob("*")):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > LIMIT:
            problems.append("%s has %d lines (at most %d): split it by job"
                            % (path.relative_to(root), lines, LIMIT))
    return problems


def self_test(root):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "tree"
        shutil.copytree(pathlib.Path(root) / "emulator", copy / "emulator",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        already = check(copy)
        if already:
            return ["the tree copied for the self-test already fails: %s" % already]
        planted = copy / "emulator" / "common" / "planted.cpp"
        planted.write_text("// a line\n" * (LIMIT + 1))
        if not any("planted.cpp" in p for p in check(copy)):
            return ["a planted file of %d lines was not caught" % (LIMIT + 1)]
        planted.write_text("// a line\n" * LIMIT)
        if check(copy):
            return ["a planted file of exactly %d lines was refused" % LIMIT]
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parents[2]))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    problems = self_test(args.root) if args.self_test else check(args.root)
    for p in problems:
        print(p)
    if not problems:
        print("ok: no file under emulator/ is over %d lines" % LIMIT)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
