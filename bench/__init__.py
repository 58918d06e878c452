"""The lab's figures, each beside a floor measured in the same run.

    .venv/bin/python -m bench                     # the default set (about 3 minutes)
    .venv/bin/python -m bench --only reconfigure,route_200
    .venv/bin/python -m bench --labs 10,30        # classroom scale: 10 then 30 labs at once
    .venv/bin/python -m bench --full              # also 30 labs and image builds from nothing
    .venv/bin/python -m bench --only classroom    # a class on JupyterHub: logins, memory per learner (root)

Prints a table and writes ``bench/out/latest.json``: a list of objects with
``name, value, unit, floor, ratio, goal`` (plus ``met`` and ``detail``).
``ratio`` is ``value / floor``; the floor is the same work done the plainest way
(a bare ``docker run``, a bare ``make``, one exec per address ...) on the same
machine at the same time, so figures from different machines compare.

Every lab the bench starts is named ``bench-...`` and removed at the end.
"""
