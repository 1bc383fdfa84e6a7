#!/usr/bin/env python3
"""The house rule for storage: every table has one repository, and no SQL, no database handle
and no workspace internals appear anywhere else under emulator/.

    check_ownership.py [--root DIR]   checks the tree (default: the checkout this file is in)
    check_ownership.py --self-test    plants violations in a copy and checks each is caught

A repository may name only the tables it owns. The Python package (emulator/python/) writes
run history from inside runs; its statements are checked against the migrations by its own
tests (tests/python/), so it is outside this check.
"""
import argparse
import pathlib
import re
import shutil
import sys
import tempfile

# file (relative to emulator/) -> the tables it owns. Only these may hold SQL.
REPOSITORIES = {
    "history/run_store.cpp": {"experiments", "runs", "run_status", "metrics", "run_files",
                               "run_params", "logged_models"},
    "compute/cluster_store.cpp": {"nodes", "node_queue"},
    "compute/target_store.cpp": {"compute_targets"},
    "environment/registered_store.cpp": {"environments"},
    "registry/model_store.cpp": {"models"},
    "workspace/workspace.cpp": {"workspace"},
    "datastore/blob_store.cpp": {"blob_properties"},
    "registry/code_store.cpp": {"code_versions"},
    "registry/data_store.cpp": {"data_versions"},
    "serving/endpoint_store.cpp": {"online_endpoints", "online_deployments"},
}
# The storage layer itself: connections, transactions, migrations. It owns no table.
STORAGE = {"storage/database.cpp", "storage/database.hpp", "storage/migrations.hpp",
           "storage/migrations.cpp.in"}
# Files that may reach the database handle or the workspace's internals.
# A repository's own header may name the handle it keeps.
HANDLE_USERS = (set(REPOSITORIES) | {r[:-4] + ".hpp" for r in REPOSITORIES} | STORAGE |
                {"workspace/workspace_impl.hpp"})

SQL_LITERAL = re.compile(
    r'"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|'
    r'REPLACE|WITH)\b')
HANDLE = re.compile(
    r'#include\s+"(storage/database\.hpp|workspace/workspace_impl\.hpp)"|\bsqlite3\w*|'
    r'\bstorage::(Database|Statement|Transaction)\b|\bdetail::(database|impl_of)\s*\(|\.impl\(\)')
TABLE_USE = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_]+)\b')


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def check(root):
    emulator = root / "emulator"
    problems = []
    for path in sorted(emulator.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".in", ".h") or not path.is_file():
            continue
        rel = path.relative_to(emulator).as_posix()
        if rel.startswith("python/"):
            continue
        code = strip_comments(path.read_text(encoding="utf-8"))
        for n, line in enumerate(code.splitlines(), 1):
            if rel not in REPOSITORIES and rel not in STORAGE and SQL_LITERAL.search(line):
                problems.append(f"emulator/{rel}:{n}: SQL outside the repositories: {line.strip()}")
            if rel not in HANDLE_USERS and HANDLE.search(line):
                problems.append(
                    f"emulator/{rel}:{n}: database handle outside the repositories: {line.strip()}")
            if rel in REPOSITORIES:
                for table in TABLE_USE.findall(line):
                    if SQL_LITERAL.search(line) or '"' in line:
                        if table not in REPOSITORIES[rel]:
                            problems.append(
                                f"emulator/{rel}:{n}: table '{table}' belongs to another "
                                f"repository: {line.strip()}")
    public = root / "include" / "amlemu"
    for path in sorted(public.glob("*.hpp")):
        code = strip_comments(path.read_text(encoding="utf-8"))
        if re.search(r"\bimpl\(\)", code) or "storage::" in code:
            problems.append(f"include/amlemu/{path.name}: the public API exposes internals")
    return problems


def self_test(root):
    """Each planted violation must be reported; the untouched copy must be clean."""
    cases = {
        "launch/planted.cpp": 'auto st = x.prepare("SELECT id FROM runs");\n',
        "history/planted.cpp": '#include "workspace/workspace_impl.hpp"\n',
        "compute/planted.cpp": "storage::Transaction tx(db);\n",
        "registry/planted.cpp": "auto& db = detail::database(ws);\n",
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "tree"
        shutil.copytree(root / "emulator", copy / "emulator")
        shutil.copytree(root / "include", copy / "include")
        if check(copy):
            print("self-test: the copy should be clean but is not")
            return 1
        for rel, text in cases.items():
            planted = copy / "emulator" / rel
            planted.write_text(text)
            if not any(rel in p for p in check(copy)):
                print(f"self-test: a violation in {rel} was not caught")
                failures += 1
            planted.unlink()
        # A repository naming another's table.
        store = copy / "emulator" / "registry" / "model_store.cpp"
        store.write_text(store.read_text() + '\nconst char* k = "SELECT 1 FROM runs";\n')
        if not any("table 'runs' belongs to another" in p for p in check(copy)):
            print("self-test: a repository reading another's table was not caught")
            failures += 1
    print("self-test: " + ("passed" if failures == 0 else f"{failures} case(s) not caught"))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[2])
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test(args.root)
    problems = check(args.root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} ownership problem(s): move the statement into the table's "
              "repository (see the list at the top of tests/house/check_ownership.py)")
        return 1
    print("storage ownership: every statement is in its table's repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
