"""Reads TF_CONFIG back and records it. A parameter server then listens on its address and serves
forever, as TF's does; workers, like TF's, wait until every parameter server answers before they
finish, so the platform never stops a server that has not started."""
import json
import os
import socket
import time

config = json.loads(os.environ["TF_CONFIG"])
task = config["task"]
os.makedirs("outputs", exist_ok=True)
with open("outputs/tf_%s_%d.json" % (task["type"], task["index"]), "w") as f:
    json.dump({"TF_CONFIG": config, "address": os.environ["AMLEMU_NODE_ADDRESS"]}, f)
print("task", task["type"], task["index"], "of", json.dumps(config["cluster"]), flush=True)


def split(target):
    host, port = target.rsplit(":", 1)
    return host, int(port)


if task["type"] == "ps":
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(split(config["cluster"]["ps"][task["index"]]))
    server.listen()
    while True:
        server.accept()[0].close()
else:
    deadline = time.time() + 120
    for target in config["cluster"].get("ps", []):
        while True:
            try:
                socket.create_connection(split(target), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
