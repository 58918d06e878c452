"""The sendmail Submission-relay lab: images, topology, lifecycle and CLI.

    from labenv import Lab
    lab = Lab.up("default")          # or Lab.attach("default")
    lab.exec("mailserver", ["mailq"]).stdout
"""

from .errors import LabError, NotSo
from .lab import ExecResult, Lab

__all__ = ["ExecResult", "Lab", "LabError", "NotSo"]
