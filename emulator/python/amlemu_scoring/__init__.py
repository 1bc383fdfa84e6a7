"""Runs one instance of an online deployment: azureml-inference-server-http, the server Azure ML
runs in deployment containers, with its own settings, bound to a Unix socket of amlemu's instead
of every network interface. amlemu's router in front of it checks the endpoint's credentials.

    python -m amlemu_scoring SOCKET ENTRY_SCRIPT MODEL_DIR WORKER_COUNT   (SOCKET ends with :5001)
"""
