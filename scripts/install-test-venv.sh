#!/usr/bin/env bash
# Creates the virtual environment the Python tests run in and installs their clients from PyPI:
# pytest and Optuna (Bayesian sampling's library) for tests/python, and the real Azure SDKs
# (azure-ai-ml, azure-identity; pinned, so that a new SDK release changes nothing until the pin
# moves) for tests/service and the YAML loader test.
# The MLflow client with the azureml-mlflow plugin gets a venv of its own ($AMLEMU_MLFLOW_VENV,
# default build/mlflow-venv): the plugin pins an azure-storage-blob older than azure-ai-ml needs.
# The venv is $AMLEMU_TEST_VENV, default build/test-venv; CMake looks for it there (the cache
# variable AMLEMU_TEST_VENV). Its interpreter is python3 from PATH (or $AMLEMU_TEST_PYTHON);
# nothing is installed into that interpreter itself. Then fills the uv cache the tests' job
# environments install from offline (scripts/warm-uv-cache.sh). Quick and silent when all is
# there. Called by scripts/install-deps.sh --tests.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${AMLEMU_TEST_VENV:-build/test-venv}"
base="${AMLEMU_TEST_PYTHON:-python3}"
requirements=("pytest>=7" "azure-ai-ml==1.35.2" "azure-identity==1.27.0" "optuna==5.1.0")

mlflow_venv="${AMLEMU_MLFLOW_VENV:-build/mlflow-venv}"
mlflow_requirements=("mlflow-skinny==3.15.0" "azureml-mlflow==1.62.0.post6")

if [ ! -x "$mlflow_venv/bin/python" ] ||
   ! "$mlflow_venv/bin/python" -c "import mlflow, azureml.mlflow" 2>/dev/null; then
  echo "Installing ${mlflow_requirements[*]} into $mlflow_venv"
  mkdir -p "$(dirname "$mlflow_venv")"
  [ -x "$mlflow_venv/bin/python" ] || "$base" -m venv "$mlflow_venv"
  "$mlflow_venv/bin/python" -m pip install -q "${mlflow_requirements[@]}"
fi
if [ -x "$venv/bin/python" ] &&
   "$venv/bin/python" -c "import pytest, azure.ai.ml, azure.identity, optuna" 2>/dev/null; then
  exec scripts/warm-uv-cache.sh
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the test virtual environment $venv"
  mkdir -p "$(dirname "$venv")"
  "$base" -m venv "$venv"
fi
echo "Installing ${requirements[*]} into $venv"
"$venv/bin/python" -m pip install -q "${requirements[@]}"
scripts/warm-uv-cache.sh   # the wheels the tests' job environments install, for an offline test run
