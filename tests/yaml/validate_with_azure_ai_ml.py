#!/usr/bin/env python3
"""Loads every Azure ML CLI v2 command-job and environment YAML file under the given folders with
the real service's own loader (the `azure-ai-ml` package), so that the files amlemu ships are the
files Azure ML accepts.

    validate_with_azure_ai_ml.py DIR [DIR...]

A command or sweep job is a YAML file whose top level has `type: command` or `type: sweep`, or a
`$schema` ending in `commandJob.schema.json` or `sweepJob.schema.json`; it is loaded with
`azure.ai.ml.load_job`. An environment file (a
`$schema` ending in `environment.schema.json`) is loaded with `azure.ai.ml.load_environment`.
Other YAML files (conda files, for example) are not checked. A file that is not valid YAML fails,
since it cannot be told apart from a broken job file.

Prints `ok <path>` or `FAIL <path>: <error>` for each file checked, then a count. Exits 1 if any
file failed, or if no file was found at all (so it cannot pass vacuously); 0 otherwise. Without
`azure-ai-ml` it checks nothing: it prints the skip line `AMLEMU-TEST-SKIPPED: <reason>` and
exits 0, so that CTest reports the test as skipped (the convention of tests/support/skip.hpp);
with CI=true, where CI must have installed it, it exits 1 instead. The loader works offline: it
checks the keys, types and values against the service's schemas and that local paths (`code`,
`conda_file`) exist, and does not resolve `azureml:` references.
"""

import json
import logging
import os
import re
import sys
import warnings

JOB_SCHEMA_SUFFIXES = ("commandJob.schema.json", "sweepJob.schema.json")
ENVIRONMENT_SCHEMA_SUFFIX = "environment.schema.json"


def find_yaml_files(roots):
    for root in roots:
        if os.path.isfile(root):
            yield root
            continue
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".yml", ".yaml")):
                    yield os.path.join(folder, name)


def classify(document):
    """'job', 'environment' or None (not a file this script checks)."""
    if not isinstance(document, dict):
        return None
    schema = document.get("$schema")
    schema = schema.strip() if isinstance(schema, str) else ""
    if schema.endswith(ENVIRONMENT_SCHEMA_SUFFIX):
        return "environment"
    if schema.endswith(JOB_SCHEMA_SUFFIXES) or document.get("type") in ("command", "sweep"):
        return "job"
    return None


def one_line(error):
    """The loader's messages are many lines of nested JSON followed by links to documentation;
    keep the innermost field errors, on one line."""
    text = str(error)
    decoder = json.JSONDecoder()
    for _ in range(5):  # each level is 'Validation for XSchema failed: {json}'
        match = re.search(r"failed:\s*(?=\{)", text)
        if not match:
            break
        try:
            value, _ = decoder.raw_decode(text, match.end())
        except ValueError:
            break
        errors = value.get("errors") if isinstance(value, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) \
                and isinstance(errors[0].get("message"), str):
            text = errors[0]["message"]
            continue
        return f"{type(error).__name__}: {json.dumps(value, separators=(',', ':'))}"
    for tail in ("If you are trying", "Visit this link", "The easiest way"):
        text = text.split(tail, 1)[0]
    return f"{type(error).__name__}: {' '.join(text.split())}"


def main(argv):
    if len(argv) < 2:
        print(f"usage: {os.path.basename(argv[0])} DIR [DIR...]", file=sys.stderr)
        return 1
    missing = [d for d in argv[1:] if not os.path.exists(d)]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 1

    try:
        from azure.ai.ml import load_environment, load_job
    except ImportError as error:
        reason = (f"needs azure-ai-ml for {sys.executable}, not available here ({error}) "
                  f"(scripts/install-deps.sh --tests installs it, as does "
                  f"{sys.executable} -m pip install azure-ai-ml)")
        if os.environ.get("CI") == "true":
            print(f"CI=true, and CI provides this prerequisite, so the test may not skip: {reason}")
            return 1
        print(f"AMLEMU-TEST-SKIPPED: {reason}")
        return 0
    import yaml  # a dependency of azure-ai-ml

    # The loader logs "experimental class" notices and marshmallow deprecation warnings that say
    # nothing about the file; keep the output to one line per file.
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    passed, failed = 0, 0
    for path in find_yaml_files(argv[1:]):
        try:
            with open(path, encoding="utf-8") as f:
                kind = classify(yaml.safe_load(f))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            print(f"FAIL {path}: not readable as YAML: {' '.join(str(error).split())}")
            failed += 1
            continue
        if kind is None:
            continue
        try:
            if kind == "job":
                load_job(source=path)
            else:
                load_environment(source=path)
        except Exception as error:  # the loader raises marshmallow and azure exceptions alike
            print(f"FAIL {path}: {one_line(error)}")
            failed += 1
        else:
            print(f"ok {path}")
            passed += 1
        sys.stdout.flush()

    if passed + failed == 0:
        print(f"no command-job or environment YAML file found under {' '.join(argv[1:])}")
        return 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
