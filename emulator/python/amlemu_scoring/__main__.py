import sys

from azureml_inference_server_http import amlserver

socket, entry_script, model_dir, workers = sys.argv[1:5]
# The server binds "<host>:<port>"; gunicorn reads "unix:<path>" as a socket file, so the host
# becomes the socket and the port its suffix: the file is "<name>:5001". Nothing listens on the
# network.
port = "5001"
if not socket.endswith(":" + port):
    sys.exit("amlemu_scoring: the socket's name must end with :" + port)
amlserver.DEFAULT_HOST = "unix:" + socket[: -len(port) - 1]
sys.argv = ["azmlinfsrv", "--entry_script", entry_script, "--model_dir", model_dir,
            "--worker_count", workers, "--port", port]
amlserver.run()
