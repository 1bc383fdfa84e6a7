"""Bayesian sampling's helper (emulator/python/amlemu_sweep/bayesian.py, Optuna's TPE): it beats
random sampling on the Branin function over 10 seeds at 30 trials each, keeps points in their
space, quantizes quniform, and is the Optuna release the C++ side asks Preparing for."""
import math
import random
import re
import statistics

from conftest import PACKAGE_DIR, REPO  # noqa: F401 (PACKAGE_DIR is on sys.path)

import optuna
from amlemu_sweep.bayesian import suggest

SPACE = {"x1": {"type": "uniform", "min_value": -5, "max_value": 10}, "x2": ["uniform", [0, 15]]}


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def bayesian_best(seed, trials=30):
    done = []
    for _ in range(trials):
        p = suggest({"space": SPACE, "goal": "minimize", "seed": seed, "trials": done, "pending": []})
        assert -5 <= p["x1"] <= 10 and 0 <= p["x2"] <= 15
        done.append({"point": p, "value": branin(p["x1"], p["x2"])})
    return min(t["value"] for t in done)


def random_best(seed, trials=30):
    g = random.Random(seed)
    return min(branin(g.uniform(-5, 10), g.uniform(0, 15)) for _ in range(trials))


def test_bayesian_beats_random_on_branin():
    bayes = [bayesian_best(s) for s in range(10)]
    rand = [random_best(s) for s in range(10)]
    print("Branin, best of 30, 10 seeds: Bayesian mean %.3f median %.3f; random mean %.3f median %.3f"
          % (statistics.mean(bayes), statistics.median(bayes), statistics.mean(rand), statistics.median(rand)))
    assert statistics.mean(bayes) < statistics.mean(rand)
    assert statistics.median(bayes) < statistics.median(rand)
    assert len(set(bayes)) == 10  # each seed its own sweep


def test_choice_and_quniform_points_and_running_trials():
    space = {"units": {"type": "choice", "values": [16, 64, "wide"]},
             "lr": {"type": "quniform", "min_value": 0, "max_value": 10, "q": 2}}
    done = [{"point": {"units": 16, "lr": 4}, "value": 0.5}]
    for seed in range(5):
        p = suggest({"space": space, "goal": "maximize", "seed": seed, "trials": done,
                     "pending": [{"units": 64, "lr": 2}]})
        assert p["units"] in (16, 64, "wide")
        assert isinstance(p["lr"], int) and p["lr"] % 2 == 0 and 0 <= p["lr"] <= 10


def test_the_pinned_optuna_is_the_one_preparing_installs():
    header = (REPO / "emulator" / "launch" / "bayesian_sampler.hpp").read_text()
    pin = re.search(r'kBayesianRequirement = "optuna==([^"]+)"', header).group(1)
    assert optuna.__version__ == pin
    warm = (REPO / "tests" / "environments" / "warm.txt").read_text()
    assert "optuna==" + pin in warm
