"""Robustness suite: hostile input, faults, bursts, lifecycle under stress, security, on real labs.

Labs here are named `rb<pid>-<module>` (one per test module, removed afterwards);
the fixtures are tests/conftest.py's, the helpers tests/support.py's.
"""
