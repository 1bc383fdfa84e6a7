"""MLflow's model registry store on amlemu's model registry (the ``amlemu`` URI scheme).

``mlflow.register_model(...)`` and ``log_model(..., registered_model_name=...)`` register a model
version of type ``mlflow_model`` with the ``amlemu model create`` command, which copies the
files into the registry and checks their ``MLmodel`` file: the registry has one owner, amlemu's
C++ side, and this store is a client of its CLI (a registration is rare; a process is cheap next
to copying a model). The files are found from the source MLflow gives:

- ``models:/m-...`` (MLflow 3): the logged model's folder among its run's files;
- ``runs:/<run id>/<path>``, or the ``file://`` address of a run's files: that path of that run;
- any other ``file://`` address or local path: those files, with no run.

Registered models have no existence apart from their versions: ``create_registered_model`` only
checks the name, and a name is listed once it has a version. Stages, aliases, renames and
deletions are not supported (MLflow's error with a message that says so).
"""
import json
import os
import pathlib
import subprocess
import tempfile
from urllib.parse import unquote, urlparse

from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils

from amlemu_mlflow._workspace import epoch_ms, folder_of


def _unsupported(what):
    return MlflowException("amlemu's model registry does not support %s" % what,
                           error_code=INVALID_PARAMETER_VALUE)


class AmlemuModelRegistry(AbstractStore):
    """The model registry of the workspace at ``amlemu:///<workspace folder>``."""

    def __init__(self, store_uri=None, tracking_uri=None):
        super().__init__()
        self.store_uri = store_uri
        self.folder = folder_of(store_uri)

    # ------------------------------------------------------------------------ the CLI

    def _cli(self, *args):
        """``amlemu <args> -o json`` on this workspace; its JSON, or MlflowException with its
        error line."""
        folder = self.folder
        config = {"subscription_id": folder.parent.parent.name,
                  "resource_group": folder.parent.name, "workspace_name": folder.name}
        env = dict(os.environ, AMLEMU_HOME=str(folder.parents[3]))
        with tempfile.TemporaryDirectory(prefix="amlemu-mlflow-") as scratch:
            path = os.path.join(scratch, "config.json")
            with open(path, "w") as f:
                json.dump(config, f)
            done = subprocess.run(
                [os.environ.get("AMLEMU_CLI") or "amlemu", "--config", path, *args, "-o", "json"],
                capture_output=True, text=True, env=env)
        if done.returncode != 0:
            line = (done.stderr.strip().splitlines() or ["amlemu %s failed" % args[1]])[-1]
            line = line[len("error: "):] if line.startswith("error: ") else line
            code = RESOURCE_DOES_NOT_EXIST if "not found" in line else INVALID_PARAMETER_VALUE
            raise MlflowException(line, error_code=code)
        return json.loads(done.stdout)

    def _version(self, row):
        created = epoch_ms(row["createdTime"])
        source = row.get("sourceUri") or (
            self.folder / "models" / row["name"] / str(row["version"]) / row["path"]).as_uri()
        return ModelVersion(row["name"], str(row["version"]), created,
                            last_updated_timestamp=created, description=row.get("description"),
                            source=source, run_id=row.get("runId"),
                            tags=row.get("tags") or {}, status="READY")

    def _versions(self, name=None):
        return [self._version(r) for r in
                self._cli("model", "list", *(("--name", name) if name else ()))]

    # ------------------------------------------------------------------- registered models

    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        if not name:
            raise MlflowException("Registered model name cannot be empty.",
                                  error_code=INVALID_PARAMETER_VALUE)
        return RegisteredModel(name, description=description)

    def get_registered_model(self, name):
        versions = self._versions(name)
        if not versions:
            raise MlflowException("Registered Model with name=%s not found" % name,
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        latest = max(versions, key=lambda v: int(v.version))
        return RegisteredModel(name, creation_timestamp=min(v.creation_timestamp
                                                            for v in versions),
                               last_updated_timestamp=latest.creation_timestamp,
                               latest_versions=[latest])

    def search_registered_models(self, filter_string=None, max_results=None, order_by=None,
                                 page_token=None):
        names = sorted({v.name for v in self._versions()})
        models = SearchModelUtils.filter([self.get_registered_model(n) for n in names],
                                         filter_string)
        return PagedList(models[:max_results] if max_results else models, None)

    def get_latest_versions(self, name, stages=None):
        return self.get_registered_model(name).latest_versions

    def update_registered_model(self, name, description, deployment_job_id=None):
        raise _unsupported("updating a registered model")

    def rename_registered_model(self, name, new_name):
        raise _unsupported("renaming a registered model")

    def delete_registered_model(self, name):
        raise _unsupported("deleting a registered model")

    def set_registered_model_tag(self, name, tag):
        raise _unsupported("tags on a registered model (a version's tags are given when it "
                           "is created)")

    def delete_registered_model_tag(self, name, key):
        raise _unsupported("tags on a registered model")

    # ---------------------------------------------------------------------- model versions

    def _files(self, source, run_id, model_id):
        """(run id or None, path in the run or local path) of a version's files."""
        if model_id or source.startswith("models:/m-"):
            from amlemu_mlflow.store import AmlemuTrackingStore
            model = AmlemuTrackingStore(self.store_uri).get_logged_model(
                model_id or source[len("models:/"):].split("/")[0])
            runs = self.folder / "runs" / model.source_run_id / "artifacts"
            return model.source_run_id, str(pathlib.Path(
                unquote(urlparse(model.artifact_location).path)).relative_to(runs))
        if source.startswith("runs:/"):
            run, _, path = source[len("runs:/"):].partition("/")
            return run, path or "."
        path = unquote(urlparse(source).path) if source.startswith("file:") else source
        path = pathlib.Path(path)
        runs = self.folder / "runs"
        try:
            run, artifacts, *rest = path.relative_to(runs).parts
            if artifacts == "artifacts":
                return run, "/".join(rest) or "."
        except ValueError:
            pass
        return None, str(path)

    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None,
                             description=None, local_model_path=None, model_id=None):
        run, path = self._files(source, run_id, model_id)
        args = ["model", "create", "--name", name, "--path", path, "--type", "mlflow_model",
                "--source-uri", source]
        if run:
            args += ["--run", run]
        if description:
            args += ["--description", description]
        for tag in tags or []:
            args += ["--tag", "%s=%s" % (tag.key, tag.value)]
        return self._version(self._cli(*args))

    def get_model_version(self, name, version):
        return self._version(self._cli("model", "show", "--name", name,
                                       "--version", str(version)))

    def get_model_version_download_uri(self, name, version):
        row = self._cli("model", "show", "--name", name, "--version", str(version))
        return (self.folder / "models" / name / str(row["version"]) / row["path"]).as_uri()

    def search_model_versions(self, filter_string=None, max_results=None, order_by=None,
                              page_token=None):
        versions = SearchModelVersionUtils.filter(self._versions(), filter_string)
        return PagedList(versions[:max_results] if max_results else versions, None)

    def update_model_version(self, name, version, description):
        raise _unsupported("updating a model version")

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions):
        raise _unsupported("stages")

    def delete_model_version(self, name, version):
        raise _unsupported("deleting a model version")

    def set_model_version_tag(self, name, version, tag):
        raise _unsupported("changing a version's tags")

    def delete_model_version_tag(self, name, version, key):
        raise _unsupported("changing a version's tags")

    def set_registered_model_alias(self, name, alias, version):
        raise _unsupported("aliases")

    def delete_registered_model_alias(self, name, alias):
        raise _unsupported("aliases")

    def get_model_version_by_alias(self, name, alias):
        raise _unsupported("aliases")
