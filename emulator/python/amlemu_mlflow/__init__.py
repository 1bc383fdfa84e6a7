"""MLflow inside amlemu runs: a tracking store and a model registry store for the ``amlemu`` URI
scheme, found by MLflow through its own plugin entry points (``amlemu_mlflow-*.dist-info`` beside
this package, which amlemu puts first on a run's ``PYTHONPATH``).

A run's environment names the workspace (``MLFLOW_TRACKING_URI=amlemu://<workspace folder>``) and
the run (``MLFLOW_RUN_ID``, ``MLFLOW_EXPERIMENT_ID``, ``MLFLOW_EXPERIMENT_NAME``), so that
``mlflow.start_run()`` attaches to the job's run and every call lands in the workspace's run
history: the rows ``Run.log`` writes (metrics), the run's tags, its params, its files. MLflow's
own code does everything else (validation, fluent API, artifact copying, autologging); this
package only stores. Nothing here runs unless a script imports ``mlflow``.
"""

__version__ = "1.0.0"
