"""The walkthrough's TensorFlow model (sample_jobs/tf-mnist) as a `command()` submitted through
azure-ai-ml trains to the same accuracy as the same job from `amlemu job create`: the REST body
becomes the same job spec, on the same data, with the same (deterministic) training."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, WORKSPACE, base_env, cli, require, run_client

DATA = Path("/usr/share/datasets/fashion-mnist")
SAMPLE = REPO / "sample_jobs" / "tf-mnist"
EPOCHS = "2"


def final_accuracy(home, folder, run_id):
    metrics = json.loads(cli(home, "job", "metrics", "--name", run_id, cwd=folder).stdout)
    return metrics["final_acc"]


def test_tf_mnist_over_rest_matches_the_cli(work, server):
    if os.environ.get("AMLEMU_SANITIZER_SUITE") == "1":
        # As the suite's other training tests: its time is TensorFlow's, and the server code it
        # runs is what the lighter service tests run under the sanitizers too.
        pytest.skip("trains a real model: runs in tests/run.sh, not under the sanitizers")
    home, folder = work
    has_tf = subprocess.run(["python3", "-c", "import tensorflow"], env=base_env(home),
                            capture_output=True).returncode == 0
    require(has_tf, "TensorFlow is not installed for python3", "scripts/install-deps.sh")
    require(DATA.is_dir(), "no Fashion-MNIST data at %s" % DATA, "scripts/install-deps.sh")
    cli(home, "datastore", "upload", "--src-dir", str(DATA), "--target-path", "mnist", cwd=folder)
    cli(home, "compute", "create", "--name", "gpucluster", "--size", "STANDARD_NC6",
        "--max-instances", "1", cwd=folder)

    # From the CLI: the sample's job file, with fewer epochs.
    job = (SAMPLE / "job.yml").read_text().replace("--learning-rate 0.01",
                                                   "--learning-rate 0.01 --epochs " + EPOCHS)
    (folder / "job.yml").write_text(job.replace("code: .", "code: " + str(SAMPLE)))
    r = cli(home, "job", "create", "--file", "job.yml", cwd=folder)
    cli_run = r.stdout.strip()
    cli(home, "job", "stream", "--name", cli_run, cwd=folder)

    # Through the SDK: the same job as a command().
    out = folder / "rest.json"
    run_client(server, "tf_mnist.py", folder, out, SAMPLE, EPOCHS,
               *(WORKSPACE[k] for k in ("subscription_id", "resource_group", "workspace_name")))
    rest = json.loads(out.read_text())
    assert rest["status"] == "Completed"

    shown = json.loads(cli(home, "job", "show", "--name", cli_run, cwd=folder).stdout)
    assert shown["status"] == "Completed"
    cli_acc = final_accuracy(home, folder, cli_run)
    rest_acc = final_accuracy(home, folder, rest["name"])
    assert 0.5 < cli_acc <= 1.0
    assert rest_acc == cli_acc
