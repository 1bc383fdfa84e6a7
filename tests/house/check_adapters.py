#!/usr/bin/env python3
"""The house rule for adapters: the CLI (emulator/cli/) and the HTTPS server (emulator/server/) sit
at the edge and reach the library only through its public API, include/amlemu/. Their sources may
include amlemu/*, the shared helpers common/*, their own folder's headers, and outside libraries
(<...>); never another room's headers (history/, launch/, registry/, storage/, ...).

    check_adapters.py [--root DIR]   checks the tree (default: the checkout this file is in)
    check_adapters.py --self-test    plants a violation in a copy and checks it is caught
"""
import argparse
import pathlib
import re
import shutil
import sys
import tempfile

ADAPTERS = ("cli", "server")
ALLOWED = ("amlemu/", "common/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check(root):
    emulator = pathlib.Path(root) / "emulator"
    problems = []
    for adapter in ADAPTERS:
        for path in sorted((emulator / adapter).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h", ".cc"):
                continue
            for header in INCLUDE.findall(path.read_text(encoding="utf-8")):
                if header.startswith(ALLOWED) or header.startswith(adapter + "/"):
                    continue
                if "/" not in header and (path.parent / header).exists():
                    continue
                problems.append("%s includes \"%s\": adapters use include/amlemu/ (the public API)"
                                % (path.relative_to(root), header))
    return problems


def self_test(root):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "tree"
        for adapter in ADAPTERS:
            shutil.copytree(pathlib.Path(root) / "emulator" / adapter, copy / "emulator" / adapter)
        if check(copy):
            return ["the tree copied for the self-test already fails: %s" % check(copy)]
        out = []
        for adapter, room in (("cli", "history/run_store.hpp"), ("server", "storage/database.hpp")):
            planted = copy / "emulator" / adapter / "planted.cpp"
            planted.write_text('#include "%s"\n' % room)
            if not any("planted.cpp" in p for p in check(copy)):
                out.append("a planted include of %s in %s/ was not caught" % (room, adapter))
            planted.unlink()
        return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parents[2]))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    problems = self_test(args.root) if args.self_test else check(args.root)
    for p in problems:
        print(p)
    if not problems:
        print("ok: the adapters include only amlemu/, common/ and their own headers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
