"""Checked exercises: a task, checks that inspect the LIVE lab, hints, a solution.

Usage in a notebook::

    from helpers.exercises import exercise
    ex = exercise("02", "relay-port")
    ex.task()            # what to do (Markdown)
    ex.check(lab)        # prints one ✔/✘ line per requirement; truthy when done
    ex.hint()            # the next hint, one per call
    ex.solution()        # the worked solution
    ex.solve(lab)        # applies the solution to the lab (so the next step works)
    ex.problems(lab)     # the same checks, as a list of one-line problems ([] = done)

From a shell (instructors): ``python -m helpers.exercises check 02 --lab NAME``
(exit 0 all done, 1 not yet, 2 usage) and ``python -m helpers.exercises progress``.

Exercise ids (notebook, id)::

    01 find-the-block   a message to the Internet waits, deferred by the port-25 block
    02 relay-port       the relay mailer connects to port 587
    03 authinfo         SMTP AUTH credentials in place; a queued message delivered
    04 starttls         starttls.m4 included; TLS to the provider enforced (TLS_Srv)
    05 mailertable      the howto's routing: LAN hosts direct, the rest via the provider
    06 masquerade       header and envelope sender rewritten to somedom.com
    07 end-to-end       the whole howto: masqueraded, authenticated, encrypted delivery
    08 fix-the-queue    a message stuck behind two faults delivered; the daemon delivers new mail
    09 capstone         one unknown fault of labenv.faults found and fixed: mail flows again

``exercise("08", "fix-the-queue").setup(lab)`` puts a lab into the exercise's
broken starting state (exercises without a special start do nothing there);
``exercise("09", "capstone").setup(lab, seed=3)`` (or ``fault=NAME``) chooses its fault.

The package, top layer of the kit (it may import helpers and labenv; nothing
else in helpers imports it):

    framework   Exercise, Requirement, CheckResult: the notebook's API
    catalogue   EXERCISES, exercise(), exercises_for(), notebook_number()
    prose       the loader of texts/NN-ID.md: title, task, hints, solution
    checks      the requirements' tests, reading a Live lab
    probes      Live: each probe of the lab at most once per check
    solutions   the solvers and starting states
    cli         the instructors' verbs check and progress
"""
from __future__ import annotations

from .catalogue import EXERCISES, NoSuchExercise, exercise, exercises_for, notebook_number
from .framework import CheckResult, Exercise, Requirement

__all__ = ["EXERCISES", "CheckResult", "Exercise", "NoSuchExercise", "Requirement", "exercise",
           "exercises_for", "notebook_number"]
