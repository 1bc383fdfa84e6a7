"""The server under load and under a crash: 16 SDK clients at once, and SIGKILL in the middle of a
code upload and of a model registration, then a restart."""
import json
import subprocess
import sys
import time

from conftest import CLIENTS, WORKSPACE, Server, cli, fingerprint, run_client, wait_for

WS_ARGS = [WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")]
CLIENTS_AT_ONCE = 16
JOBS_EACH = 2


def workspace_dir(home):
    return home / "workspaces" / WORKSPACE["subscription_id"] / WORKSPACE["resource_group"] / \
        WORKSPACE["workspace_name"]


def requests_of(server):
    """The access log as (status, method, path) rows: "<time> <status> <method> <path> <ms> ms"."""
    rows = []
    for line in list(server.log):
        parts = line.split()
        if len(parts) == 6 and parts[1].isdigit() and parts[5] == "ms":
            rows.append((int(parts[1]), parts[2], parts[3]))
    return rows


def test_sixteen_sdk_clients_submit_and_list_at_once(work, server):
    home, folder = work
    cli(home, "compute", "create", "--name", "cpu-cluster", "--max-instances", "4", cwd=folder)
    start = folder / "start"
    env = server.client_env()
    procs = [subprocess.Popen([sys.executable, str(CLIENTS / "submit_and_list.py"), str(start),
                               str(JOBS_EACH), *WS_ARGS], cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(CLIENTS_AT_ONCE)]
    # All clients are ready (credential, metadata, workspace) when the server has answered 16
    # workspace GETs; then they all start together.
    ws_path = "/workspaces/" + WORKSPACE["workspace_name"]
    wait_for(lambda: sum(r[1] == "GET" and r[2].endswith(ws_path) for r in requests_of(server))
             >= CLIENTS_AT_ONCE, 180, "16 clients ready")
    start.write_text("go")
    seen = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-4000:]
        seen.append(json.loads(out.strip().splitlines()[-1]))

    names = [n for s in seen for n in s["names"]]
    assert len(names) == CLIENTS_AT_ONCE * JOBS_EACH
    assert len(set(names)) == len(names), "two submissions got the same id"
    for s in seen:
        assert set(s["names"]) <= set(s["listed"]), "a client's own jobs are missing from its list"
    # Nothing lost: every job is in run history, and every one ends Completed.
    listed = {j["name"] for j in json.loads(cli(home, "job", "list", cwd=folder).stdout)}
    assert set(names) <= listed

    def all_completed():
        statuses = [json.loads(cli(home, "job", "show", "--name", n, cwd=folder).stdout)["status"]
                    for n in names]
        assert "Failed" not in statuses
        return all(s == "Completed" for s in statuses)

    wait_for(all_completed, 300, "every job to complete")
    assert not [r for r in requests_of(server) if r[0] >= 500]
    # Nothing but access-log lines: no error a connection ended on, no "database is locked".
    others = [l for l in server.log[2:] if not (len(l.split()) == 6 and l.endswith(" ms"))]
    assert not others


def crash_and_restart(home, folder, crash_at, script, check_gone):
    """Runs `script` against a server that kills itself at crash point `crash_at`; checks what is
    left, restarts the server normally, and runs the script again."""
    before = fingerprint(home)
    crashing = Server(home, AMLEMU_CRASH_AT=crash_at).start()
    client = subprocess.Popen([sys.executable, str(CLIENTS / script), *WS_ARGS], cwd=folder,
                              env=crashing.client_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert crashing.wait_dead(120) == -9, "the server did not reach crash point " + crash_at
        # The client now retries against nothing (the storage SDK backs off for about a minute):
        # it never got an answer, which is all that matters here.
        time.sleep(1)
        client.kill()
        out = client.communicate()[0]
        assert "model local-model" not in out and "Completed" not in out, out
    finally:
        client.kill()
        crashing.stop()
    check_gone(before)

    again = Server(home).start()
    try:
        return run_client(again, script, folder, *WS_ARGS).stdout
    finally:
        again.stop()


def visible(fp):
    """The fingerprint without the staging areas, whose leftovers a restart removes."""
    rows, files = fp
    files = [(p, s) for p, s in files if "/staging/" not in "/" + p and "/.staging/" not in "/" + p]
    return rows, files


def test_sigkill_during_a_code_upload_leaves_no_blob_and_no_code_version(work):
    home, folder = work
    cli(home, "compute", "create", "--name", "cpu-cluster", "--max-instances", "1", cwd=folder)
    (folder / "src").mkdir()
    (folder / "src" / "hello.py").write_text("print('hello from the uploaded code')\n")

    def check_gone(before):
        after = fingerprint(home)
        assert visible(after) == visible(before), "the crash left a visible blob or row"
        staged = [p for p, _ in after[1] if "/staging/" in "/" + p]
        assert staged, "the crash point is after staging: a staged file should be left"

    last = crash_and_restart(home, folder, "blob.staged", "upload_code.py", check_gone).split("\n")
    last = [l for l in last if l.startswith("job ")][-1].split()
    assert last[2] == "Completed"
    # The restart removed the crashed write's staged file.
    staging = workspace_dir(home) / "staging"
    assert not [p for p in staging.iterdir() if p.name != "blocks"] if staging.exists() else True
    shown = json.loads(cli(home, "job", "show", "--name", last[1], cwd=folder).stdout)
    assert shown["status"] == "Completed"
    assert "hello from the uploaded code" in "".join(
        p.read_text() for p in (workspace_dir(home) / "runs" / last[1]).rglob("*.txt"))


def test_sigkill_during_a_model_upload_leaves_no_model_version(work):
    home, folder = work
    (folder / "model").mkdir()
    (folder / "model" / "weights.bin").write_bytes(bytes(range(256)) * 64)

    def check_gone(before):
        models = json.loads(cli(home, "model", "list", cwd=folder).stdout)
        assert models == []
        staged = list((workspace_dir(home) / "models" / ".staging").iterdir())
        assert staged, "the crash point is after staging: a staged model should be left"

    out = crash_and_restart(home, folder, "model.staged", "upload_model.py", check_gone)
    assert out.split() == ["model", "local-model", "1"]
    models = json.loads(cli(home, "model", "list", cwd=folder).stdout)
    assert [(m["name"], str(m["version"])) for m in models] == [("local-model", "1")]
    path = workspace_dir(home) / "models" / "local-model" / "1"
    files = [p for p in path.rglob("weights.bin")]
    assert len(files) == 1 and files[0].read_bytes() == bytes(range(256)) * 64
