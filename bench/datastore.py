#!/usr/bin/env python3
"""Datastore upload and mount: `amlemu datastore upload` of a generated tree (by default 1 GB in
10,000 files) against `cp -r` of the same tree, alternating, median of N; then the time of a
trivial job that mounts a large dataset (60,000 files) against one that mounts a tiny one.

    python3 bench/datastore.py [--runs N] [--files N] [--mb N] [--mount-files N] [--write FILE]

The data is generated under /tmp and deleted at the end. Every copy is followed by `sync`
(not timed), so no side pays for the dirty pages the other left behind.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def make_tree(root, files, total_bytes, per_folder=100):
    """`files` files of total_bytes/files bytes each, `per_folder` to a folder."""
    size = max(1, total_bytes // files)
    block = os.urandom(size)
    for i in range(files):
        folder = os.path.join(root, "part-%04d" % (i // per_folder))
        if i % per_folder == 0:
            os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "file-%06d.bin" % i), "wb") as f:
            f.write(b"%08d" % i + block[8:])
    return size * files


def run(runs=5, files=10000, mb=1024, mount_files=60000, write=None):
    harness.need_build()
    total = mb * 1024 * 1024
    need = 3 * total + mount_files * 2 * 1024 + (512 << 20)
    if harness.free_bytes("/tmp") < need:
        sys.exit("datastore benchmark: %d MB free under /tmp, %d MB needed"
                 % (harness.free_bytes("/tmp") >> 20, need >> 20))
    ws = harness.TempWorkspace(prefix="amlemu-bench-data-", base="/tmp")
    try:
        src = ws.path("tree")
        written = make_tree(src, files, total)
        store = ws.datastore_dir()

        def cp():
            dst = ws.path("cp-copy")
            subprocess.run(["cp", "-r", src, dst], check=True)
            return dst

        def upload():
            ws.amlemu("datastore", "upload", "--src-dir", src, "--target-path", "upload",
                      "--no-progress")
            return os.path.join(store, "upload")

        def timed(copy):
            def go():
                t0 = time.perf_counter()
                dst = copy()
                took = time.perf_counter() - t0
                subprocess.run(["sync"], check=True)
                shutil.rmtree(dst)
                subprocess.run(["sync"], check=True)
                return took
            return go

        subprocess.run(["sync"], check=True)
        t = harness.alternate([("cp", timed(cp)), ("upload", timed(upload))], runs)
        cp_ms, up_ms = harness.median_ms(t["cp"]), harness.median_ms(t["upload"])
        shutil.rmtree(src)

        # Mounting: the same trivial job with a data reference to a big and to a tiny folder.
        big = ws.path("big")
        make_tree(big, mount_files, mount_files * 1024, per_folder=1000)
        ws.amlemu("datastore", "upload", "--src-dir", big, "--target-path", "big", "--no-progress")
        shutil.rmtree(big)
        tiny = ws.path("tiny")
        make_tree(tiny, 1, 1024)
        # A mount binds the datastore's whole folder: the tiny dataset gets a datastore of its
        # own, so the two jobs differ by the size of what they mount.
        ws.amlemu("datastore", "upload", "--src-dir", tiny, "--target-path", "tiny", "--no-progress",
                  "--name", "workspacefilestore")
        src_dir = ws.source("src", "trivial.py")
        jobs = {}
        for name, store_name in (("big", "workspaceblobstore"), ("tiny", "workspacefilestore")):
            jobs[name] = ws.job(name + ".json", {
                "experiment_name": "mount", "source_directory": src_dir,
                "entry_script": "trivial.py", "user_managed": True,
                "script_params": {"--data": {"datastore": store_name,
                                             "path_on_datastore": name, "mode": "mount"}}})
        for name in jobs:
            ws.amlemu("job", "create", "--file", jobs[name], "--stream")
        mt = harness.alternate([(n, lambda n=n: ws.amlemu("job", "create", "--file", jobs[n],
                                                          "--stream")) for n in ("tiny", "big")],
                               runs * 4)
        tiny_ms, big_ms = harness.median_ms(mt["tiny"]), harness.median_ms(mt["big"])

        ratio = up_ms / cp_ms
        lines = ["## Datastore upload and mount", "",
                 harness.measured_line(runs, "datastore.py") +
                 " Upload: a generated tree of %d files of %d KB (%.0f MB, 100 files a folder) "
                 "under /tmp, copied with `amlemu datastore upload --src-dir D --target-path T "
                 "--no-progress` and with `cp -r`, on the same file system; each copy is followed "
                 "by `sync` and its removal, neither timed." % (files, written // files // 1024,
                                                                written / 2**20), ""]
        lines += harness.table(["measure", "median ms"], [
            ("`cp -r`", "%.0f" % cp_ms),
            ("`amlemu datastore upload`", "%.0f" % up_ms),
            ("amlemu / cp", "%.2fx" % ratio),
        ])
        lines += ["", "amlemu writes each file under a temporary name and renames it into place, "
                  "so a crash never leaves a half file under its name: one `rename` more per file "
                  "than `cp`. Goal: within "
                  "1.2x of `cp -r`; %s (%.2fx).%s" % (
                      "met" if ratio <= 1.2 else "missed", ratio, "" if ratio <= 1.2 else
                      " Per file, beyond the copy, amlemu checks whether the target exists (it "
                      "skips existing files unless `--overwrite`), makes sure the target's folder "
                      "exists, and renames the temporary copy. What would close it: create each "
                      "folder once instead of once per file, and skip the existence check in "
                      "folders the upload itself created."), "",
                  "Mount: a trivial job (`user_managed`) with one data reference in `mount` mode, "
                  "to a datastore holding %d files of 1 KB (`workspaceblobstore`) or one holding "
                  "one file (`workspacefilestore`); %d alternating runs of each."
                  % (mount_files, runs * 4), ""]
        lines += harness.table(["measure", "median ms"], [
            ("job mounting 1 file", "%.0f" % tiny_ms),
            ("job mounting %d files" % mount_files, "%.0f" % big_ms),
            ("big / tiny", "%.2fx" % (big_ms / tiny_ms)),
        ])
        grew = big_ms - tiny_ms > max(10.0, 0.1 * tiny_ms)
        lines += ["", "A mount is one bind mount of the datastore's folder (or, where a mount "
                  "namespace cannot be made, one symbolic link), made once per run whatever the "
                  "folder holds, so its cost does not depend on the number of files. Goal: no "
                  "growth with the data's size (a difference under 10 ms or 10%%, this machine's "
                  "noise); %s (%+.0f ms)." % ("missed" if grew else "met", big_ms - tiny_ms), ""]
        harness.write_section(write, "## Datastore upload and mount", lines)
        return [
            harness.summary_row("4. datastore upload, %.0f MB in %d files" % (written / 2**20, files),
                                "wall time, amlemu / `cp -r`",
                                "%.2fx (%.0f vs %.0f ms)" % (ratio, up_ms, cp_ms),
                                "within 1.2x", ratio <= 1.2),
            harness.summary_row("4. datastore mount", "job time, %d files / 1 file" % mount_files,
                                "%.2fx (%.0f vs %.0f ms)" % (big_ms / tiny_ms, big_ms, tiny_ms),
                                "no growth with size", not grew),
        ]
    finally:
        ws.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--mount-files", type=int, default=60000)
    parser.add_argument("--write")
    args = parser.parse_args()
    run(args.runs, args.files, args.mb, args.mount_files, args.write)


if __name__ == "__main__":
    main()
