#!/usr/bin/env bash
# The Azure ML "train and register a TensorFlow model" walkthrough, with the amlemu CLI:
# workspace, upload Fashion-MNIST to the default datastore, create the GPU cluster, submit and
# stream the job, look at its metrics, register the model, download it and score it.
# State goes to $AMLEMU_HOME (default ~/.amlemu); the model is downloaded to
# ${WALKTHROUGH_OUTPUT:-./walkthrough-output}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" amlemu amlemu-runner >/dev/null

amlemu() { "$root/build/bin/amlemu" --config "$root/sample_jobs/config.json" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
output="${WALKTHROUGH_OUTPUT:-./walkthrough-output}"

step "Workspace from config.json"
amlemu workspace create -o json | grep -E '"(name|stateDir)"'

step "Upload Fashion-MNIST to the default datastore (workspaceblobstore)"
amlemu datastore upload --src-dir /usr/share/datasets/fashion-mnist --target-path mnist

step "Create the AmlCompute cluster gpucluster (STANDARD_NC6, up to 4 nodes)"
amlemu compute create --name gpucluster --size STANDARD_NC6 --max-instances 4 -o table >/dev/null
amlemu compute list -o table

step "Submit the estimator and stream its log"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
amlemu job create --file "$root/sample_jobs/tf-mnist.json" --stream | tee "$log"
run_id="$(sed -n 's/^RunId: //p' "$log" | head -n 1)"

step "Metrics of $run_id"
amlemu job metrics --name "$run_id" --metric final_acc

step "Register outputs/model as tf-dnn-mnist"
version="$(amlemu model create --name tf-dnn-mnist --run "$run_id" --path outputs/model -o json |
           sed -n 's/^  "version": \([0-9]*\).*/\1/p')"
amlemu model list --name tf-dnn-mnist -o table

step "Download tf-dnn-mnist:$version"
amlemu model download --name tf-dnn-mnist --version "$version" --download-path "$output" --exist-ok
ls -l "$output/model"

step "Load the downloaded model and score it on the 10,000 test images"
"${AMLEMU_PYTHON:-python3}" "$root/sample_jobs/tf-mnist/load_model.py" --model-dir "$output" \
  --data-folder /usr/share/datasets/fashion-mnist
