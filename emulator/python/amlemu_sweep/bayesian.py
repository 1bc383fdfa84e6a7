"""Bayesian sampling for a sweep: the next point to try, from Optuna's TPE sampler given the
trials that have ended so far. Stateless: the sweep's parent runs it once per trial with the
whole history, so nothing is lost when the parent restarts.

    python -m amlemu_sweep.bayesian REQUEST.json RESPONSE.json

REQUEST: {"space": {name: expression}, "goal": "maximize" | "minimize", "seed": int or null,
          "trials": [{"point": {name: value}, "value": number}], "pending": [{name: value}]}
An expression is a sweep job's ({"type": "choice", "values": [...]}, {"type": "uniform",
"min_value": a, "max_value": b}, {"type": "quniform", ..., "q": q}) or the list form
(["choice", [[...]]], ["uniform", [a, b]], ["quniform", [a, b, q]]): Bayesian sampling takes
these three kinds only, as Azure ML's does. RESPONSE: {"point": {name: value}}.
"""
import json
import sys


def expressions(space):
    """{name: (kind, args)} with args as (values,), (low, high) or (low, high, q)."""
    out = {}
    for name, e in space.items():
        if isinstance(e, list):
            kind, args = e[0], e[1]
            out[name] = (kind, (args[0],) if kind == "choice" else tuple(args))
        elif e["type"] == "choice":
            out[name] = ("choice", (e["values"],))
        else:
            args = (e["min_value"], e["max_value"]) + ((e["q"],) if e["type"] == "quniform" else ())
            out[name] = (e["type"], args)
    return out


def distributions(exprs):
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    out = {}
    for name, (kind, args) in exprs.items():
        if kind == "choice":
            out[name] = CategoricalDistribution(list(args[0]))
        elif kind in ("uniform", "quniform"):
            out[name] = FloatDistribution(float(args[0]), float(args[1]))
        else:
            raise SystemExit("%s: Bayesian sampling takes choice, uniform and quniform, not %s" % (name, kind))
    return out


def quantize(exprs, point):
    """A quniform value rounded to its q (an integer q gives an integer), within its bounds."""
    out = dict(point)
    for name, (kind, args) in exprs.items():
        if kind == "quniform":
            low, high, q = args
            v = min(max(round(point[name] / q) * q, low), high)
            out[name] = int(round(v)) if float(q).is_integer() else v
    return out


def suggest(request):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exprs = expressions(request["space"])
    dists = distributions(exprs)
    done = request.get("trials", [])
    pending = request.get("pending", [])
    seed = request.get("seed")
    # A fresh sampler each time: its seed moves on with the history, or every call would draw
    # the same start-up point.
    step = len(done) + len(pending)
    sampler = optuna.samplers.TPESampler(
        seed=None if seed is None else (int(seed) * 1000003 + step) % 2**32, constant_liar=True)
    study = optuna.create_study(direction=request.get("goal", "maximize"), sampler=sampler)
    for t in done:
        study.add_trial(optuna.trial.create_trial(params=t["point"], distributions=dists,
                                                  value=float(t["value"])))
    for p in pending:  # still running: TPE's constant liar keeps the next point away from them
        study.add_trial(optuna.trial.create_trial(params=p, distributions=dists,
                                                  state=optuna.trial.TrialState.RUNNING))
    trial = study.ask(dists)
    return quantize(exprs, trial.params)


def main(argv):
    with open(argv[1]) as f:
        request = json.load(f)
    point = suggest(request)
    with open(argv[2], "w") as f:
        json.dump({"point": point}, f)


if __name__ == "__main__":
    main(sys.argv)
