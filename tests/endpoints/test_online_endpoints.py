"""Managed online endpoints, end to end: the sample's blue/green deployments behind one scoring URI,
the status codes of the real inference server behind amlemu's router, a score.py whose init()
raises, bad input, and an instance killed under a steady load."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

REQUEST = json.dumps({"data": [[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]]}).encode()


def call(uri, key, body=REQUEST, method="POST", headers=None, timeout=30):
    """(status, body, headers) of one request; never raises for an HTTP status."""
    req = urllib.request.Request(uri, data=body if method != "GET" else None, method=method)
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", "Bearer " + key)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def endpoint(ws, name="my-endpoint"):
    shown = ws.json("online-endpoint", "show", "--name", name)
    key = ws.json("online-endpoint", "get-credentials", "--name", name)["primaryKey"]
    return shown["scoring_uri"], key


def write_failing_score(ws):
    (ws.folder / "score" / "score.py").write_text(
        (ws.folder / "score" / "score.py").read_text() +
        "\n\n_run = run\n\n\ndef run(raw_data):\n"
        "    if 'explode' in raw_data:\n"
        "        raise ValueError('asked to explode')\n"
        "    return _run(raw_data)\n")


def test_blue_green_traffic_split_and_the_deployment_header(trained):
    if os.environ.get("AMLEMU_SANITIZER_SUITE") == "1":
        # Its router code is what the other tests here run too; 1,000 requests are for tests/run.sh.
        pytest.skip("the 1,000-request split runs in tests/run.sh, not under the sanitizers")
    ws = trained
    ws.cli("online-endpoint", "create", "--file", "endpoint.yml")
    blue = ws.json("online-deployment", "create", "--file", "blue-deployment.yml", "--all-traffic")
    assert blue["provisioning_state"] == "Succeeded"
    out = ws.cli("online-endpoint", "invoke", "--name", "my-endpoint", "--request-file", "sample-request.json")
    assert json.loads(out.stdout) == [1, 0]
    ws.cli("online-deployment", "create", "--file", "green-deployment.yml")
    shown = ws.json("online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=90 green=10")
    assert shown["traffic"] == {"blue": 90, "green": 10}

    uri, key = endpoint(ws)

    def one(_):
        status, body, headers = call(uri, key)
        assert status == 200, body
        return headers["azureml-model-deployment"]

    with ThreadPoolExecutor(8) as pool:
        counts = Counter(pool.map(one, range(1000)))
    # 90/10 over 1,000 requests: green's count is binomial(1000, 0.1), sd 9.5; 4 sd either side.
    assert set(counts) == {"blue", "green"}
    assert 62 <= counts["green"] <= 138, counts

    # The header picks a deployment, whatever the split.
    for name in ("green", "blue"):
        status, body, headers = call(uri, key, headers={"azureml-model-deployment": name})
        assert status == 200 and headers["azureml-model-deployment"] == name
    status, body, _ = call(uri, key, headers={"azureml-model-deployment": "red"})
    assert status == 404 and "red" in body

    # A deployment with traffic cannot go; with none it can, and its instances stop.
    refused = ws.cli("online-deployment", "delete", "--name", "green", "--endpoint-name", "my-endpoint", check=False)
    assert refused.returncode != 0 and "traffic" in refused.stderr
    ws.cli("online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=100")
    ws.cli("online-deployment", "delete", "--name", "green", "--endpoint-name", "my-endpoint")
    listed = ws.json("online-deployment", "list", "--endpoint-name", "my-endpoint")
    assert [d["name"] for d in listed] == ["blue"]


def test_status_codes_of_the_scoring_uri(trained):
    ws = trained
    write_failing_score(ws)
    ws.cli("online-endpoint", "create", "--file", "endpoint.yml")
    ws.cli("online-deployment", "create", "--file", "blue-deployment.yml", "--all-traffic")
    uri, key = endpoint(ws)
    root = uri[: -len("/score")]
    assert call(uri, key)[0] == 200
    status, body, _ = call(root + "/", key, method="GET")
    assert (status, body) == (200, "Healthy")
    status, body, _ = call(root + "/swagger.json", key, method="GET")
    assert status == 200 and ("swagger" in body.lower() or "openapi" in body.lower())
    assert call(uri, "not-the-key")[0] == 401
    assert call(uri, None)[0] == 401
    status, _, headers = call(uri, key, method="PUT")
    assert status == 405
    status, body, _ = call(uri, key, body=json.dumps({"explode": True}).encode())
    assert status == 500
    # The second key works too; the traceback of the failed run() is in the logs.
    second = ws.json("online-endpoint", "get-credentials", "--name", "my-endpoint")["secondaryKey"]
    assert call(uri, second)[0] == 200
    logs = ws.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "my-endpoint").stdout
    assert "asked to explode" in logs
    assert len(ws.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "my-endpoint",
                      "--lines", "3").stdout.splitlines()) == 3


def test_an_init_that_raises_fails_the_deployment_with_its_traceback(trained):
    ws = trained
    (ws.folder / "score" / "score.py").write_text(
        "def init():\n    raise RuntimeError('the model file is corrupt')\n\n\ndef run(raw):\n    return raw\n")
    ws.cli("online-endpoint", "create", "--file", "endpoint.yml")
    r = ws.cli("online-deployment", "create", "--file", "blue-deployment.yml", check=False)
    assert r.returncode != 0
    error_lines = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert len(error_lines) == 1
    assert "RuntimeError: the model file is corrupt" in error_lines[0]
    assert "get-logs" in error_lines[0]
    shown = ws.json("online-deployment", "show", "--name", "blue", "--endpoint-name", "my-endpoint")
    assert shown["provisioning_state"] == "Failed"
    assert "Traceback" in shown["error"] and "the model file is corrupt" in shown["error"]
    logs = ws.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "my-endpoint").stdout
    assert "RuntimeError: the model file is corrupt" in logs


def test_bad_input_is_refused_in_one_line_and_records_nothing(trained):
    ws = trained
    ws.cli("online-endpoint", "create", "--file", "endpoint.yml")
    # A deployment of an endpoint that does not exist.
    text = (ws.folder / "blue-deployment.yml").read_text()
    (ws.folder / "orphan.yml").write_text(text.replace("endpoint_name: my-endpoint", "endpoint_name: nowhere"))
    r = ws.cli("online-deployment", "create", "--file", "orphan.yml", check=False)
    errors = [l for l in r.stderr.splitlines() if l.startswith("error:")]
    assert r.returncode != 0 and len(errors) == 1 and "'nowhere' not found" in errors[0]
    # A scoring script that is not there: the file and key are named.
    (ws.folder / "noscript.yml").write_text(text.replace("scoring_script: score.py", "scoring_script: missing.py"))
    r = ws.cli("online-deployment", "create", "--file", "noscript.yml", check=False)
    assert r.returncode != 0 and "code_configuration.scoring_script" in r.stderr and "missing.py" in r.stderr
    # A model that is not registered.
    (ws.folder / "nomodel.yml").write_text(text.replace("azureml:sklearn-model@latest", "azureml:ghost:3"))
    r = ws.cli("online-deployment", "create", "--file", "nomodel.yml", check=False)
    assert r.returncode != 0 and "azureml:ghost:3" in r.stderr
    assert ws.json("online-deployment", "list", "--endpoint-name", "my-endpoint") == []
    # Traffic that does not sum to 100, or names no deployment.
    r = ws.cli("online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=90", check=False)
    assert r.returncode != 0 and "no deployment 'blue'" in r.stderr
    ws.cli("online-deployment", "create", "--file", "blue-deployment.yml")
    r = ws.cli("online-endpoint", "update", "--name", "my-endpoint", "--traffic", "blue=90", check=False)
    assert r.returncode != 0 and "sum to 90" in r.stderr
    assert ws.json("online-endpoint", "show", "--name", "my-endpoint")["traffic"] == {}
    # The same endpoint twice, and a name the service refuses.
    r = ws.cli("online-endpoint", "create", "--file", "endpoint.yml", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    r = ws.cli("online-endpoint", "create", "--name", "9lives", check=False)
    assert r.returncode != 0 and "'9lives'" in r.stderr


def instance_pids(home):
    """Pids of the scoring servers' masters under `home` (python -m amlemu_scoring ...)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    scoring = {int(p): int(pp) for p, pp, args in rows if "amlemu_scoring" in args and str(home) in args}
    return sorted(p for p, pp in scoring.items() if pp not in scoring)


def test_an_instance_killed_under_load_is_replaced_and_no_request_hangs(trained):
    ws = trained
    ws.cli("online-endpoint", "create", "--file", "endpoint.yml")
    ws.cli("online-deployment", "create", "--file", "blue-deployment.yml", "--all-traffic")
    uri, key = endpoint(ws)
    before = instance_pids(ws.home)
    assert len(before) == 1
    results, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            start = time.monotonic()
            try:
                status = call(uri, key, timeout=20)[0]
            except Exception as e:  # a connection reset or hang is what must not happen
                status = repr(e)
            results.append((start, status, time.monotonic() - start))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(2)
    killed_at = time.monotonic()
    os.killpg(before[0], signal.SIGKILL)
    # Replaced within the probe period (5 s): a new server answers.
    deadline = killed_at + 30
    while time.monotonic() < deadline:
        after = instance_pids(ws.home)
        if after and after != before and any(s == 200 and t0 > killed_at + 0.5 for t0, s, _ in results):
            break
        time.sleep(0.2)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a request hung"
    statuses = Counter(s for _, s, _ in results)
    # Every request got an answer: 200, or a 5xx while the instance was replaced.
    assert all(isinstance(s, int) and (s == 200 or 500 <= s < 600) for s in statuses), statuses
    assert max(d for _, _, d in results) < 20
    after = instance_pids(ws.home)
    assert after and after != before
    recovered = [t0 for t0, s, _ in results if s == 200 and t0 > killed_at]
    assert recovered and min(recovered) - killed_at < 5 + 5, "not replaced within the probe period"
    shown = ws.json("online-deployment", "show", "--name", "blue", "--endpoint-name", "my-endpoint")
    assert shown["provisioning_state"] == "Succeeded"
