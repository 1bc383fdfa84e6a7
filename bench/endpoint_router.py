#!/usr/bin/env python3
"""What amlemu's router adds to a scoring request: the same requests to one deployment's
instance, through the endpoint's scoring URI (key check, traffic draw, forwarding) and straight
to the instance's Unix socket (what a client of `azmlinfsrv` alone would get), in turn, one
keep-alive connection each, sequential.

    python3 bench/endpoint_router.py [--requests N] [--write docs/benchmarks.md]

Needs the uv cache that scripts/warm-uv-cache.sh fills (azureml-inference-server-http for 3.11).
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SECTION = "## Online endpoint router"
SCORE = "import json\n\ndef init():\n    pass\n\ndef run(raw):\n    return json.loads(raw)['data']\n"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def timed(conn, headers, body, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/score", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        out.append(time.perf_counter() - t0)
        assert r.status == 200, r.status
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--write", metavar="FILE")
    args = ap.parse_args()
    run(args.requests, args.write)


def run(requests=2000, write=None):
    """Measures, prints the section, writes it into `write` when given; returns the figures."""
    work = tempfile.mkdtemp(prefix="amlemu-bench-endpoint-")
    env = dict(os.environ, AMLEMU_HOME=os.path.join(work, "home"))
    env.setdefault("AMLEMU_UV_CACHE", os.path.join(harness.ROOT, "build", "uv-cache"))

    def cli(*a):
        return subprocess.run([harness.CLI, *a], cwd=work, env=env, check=True, capture_output=True, text=True).stdout

    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"subscription_id": "sub", "resource_group": "rg", "workspace_name": "bench"}, f)
    os.makedirs(os.path.join(work, "code"))
    os.makedirs(os.path.join(work, "model"))
    open(os.path.join(work, "code", "score.py"), "w").write(SCORE)
    open(os.path.join(work, "model", "weights.txt"), "w").write("1\n")
    open(os.path.join(work, "conda.yml"), "w").write("dependencies:\n  - python=3.11\n  - pip\n")
    open(os.path.join(work, "d.yml"), "w").write(
        "name: blue\nendpoint_name: bench-ep\nmodel: {path: model}\n"
        "code_configuration: {code: code, scoring_script: score.py}\n"
        "environment: {conda_file: conda.yml}\n")
    cli("workspace", "create")
    cli("online-endpoint", "create", "--name", "bench-ep")
    try:
        cli("online-deployment", "create", "--file", "d.yml", "--all-traffic")
        shown = json.loads(cli("online-endpoint", "show", "--name", "bench-ep"))
        key = json.loads(cli("online-endpoint", "get-credentials", "--name", "bench-ep"))["primaryKey"]
        port = shown["port"] if "port" in shown else int(shown["scoring_uri"].split(":")[2].split("/")[0])
        out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
        sock = next(line.split()[3] for line in out.splitlines()
                    if "amlemu_scoring" in line and work in line)
        body = json.dumps({"data": [[1.0, 2.0, 3.0, 4.0]]})
        headers = {"Content-Type": "application/json"}
        routed = http.client.HTTPConnection("127.0.0.1", port)
        direct = UnixConnection(sock)
        keyed = dict(headers, Authorization="Bearer " + key)
        timed(routed, keyed, body, 100)  # warm both
        timed(direct, headers, body, 100)
        r_times, d_times = [], []
        for _ in range(10):
            r_times += timed(routed, keyed, body, requests // 10)
            d_times += timed(direct, headers, body, requests // 10)
    finally:
        cli("online-endpoint", "delete", "--name", "bench-ep")

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000

    rows = [("through the router (scoring URI, key)", r_times), ("straight to the instance's socket", d_times)]
    lines = [SECTION, "",
             "Measured %s on %s; %d sequential requests each, in alternating blocks, one keep-alive "
             "connection per side, a score.py that returns its input (`bench/endpoint_router.py`)."
             % (harness.today(), harness.machine(), len(r_times)), "",
             "| path | p50 ms | p99 ms | requests/s |", "|---|---:|---:|---:|"]
    for name, xs in rows:
        lines.append("| %s | %.2f | %.2f | %.0f |" % (name, pct(xs, 0.5), pct(xs, 0.99), len(xs) / sum(xs)))
    added = statistics.median(r_times) * 1000 - statistics.median(d_times) * 1000
    lines += ["", "The router adds %.2f ms per request at the median: the key check, the traffic draw, "
              "a new connection to the instance's socket and a timer thread per request." % added, ""]
    text = "\n".join(lines)
    print(text)
    if write:
        harness.replace_section(write, SECTION, text)
    return {"routed_ms": pct(r_times, 0.5), "direct_ms": pct(d_times, 0.5), "added_ms": added,
            "routed_rps": len(r_times) / sum(r_times), "direct_rps": len(d_times) / sum(d_times)}


if __name__ == "__main__":
    main()
