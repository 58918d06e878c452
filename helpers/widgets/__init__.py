"""Interactive editors and viewers for the notebooks (ipywidgets 8), one module each.

Every widget works two ways: a learner clicks (and the live lab changes), or a
notebook drives it from code so a run is reproducible; ``.result()`` then gives a
static DataFrame or text for the next cell, which is what the stored notebook and
nbval keep::

    editor = McEditor(lab)
    editor                                   # the form (in a cell tagged nbval-ignore-output)
    editor.set(relay_port=587).diff()        # unified diff of sendmail.mc
    outcome = editor.apply()                 # write, make, reload -- or refuse
    editor.result()                          # next cell: what was applied, =M lines

    MailertableEditor(lab, rows=[...], addresses=["bob@example.com"]).apply()
    AuthInfoEditor(lab).set(I="user_name", P=secret, M="PLAIN LOGIN").apply()
    AddressTester(lab).set(["x@hosta.private.lan"]).routes()
    InboxViewer(lab).messages()
    DialogueViewer.from_verbose(text).table() / DialogueViewer.from_session(session).text()

Bad input never reaches the lab: it is refused with the one-line ConfigError, shown
in red, and nothing is written. When the lab refuses a configuration (make, m4 or
makemap failed), /etc/mail is restored and sendmail keeps its last good
configuration; the editor says so (:mod:`helpers.widgets.form`). Passwords are never
shown: the AuthInfo editor masks them in every line it prints and empties its
password box once the password has been applied. A click on a lab that is gone
(``finish(lab)`` removed it) shows one red line saying how to start a fresh one;
the same call from a cell raises the LabError.
"""
from __future__ import annotations

from helpers.widgets.address_tester import AddressTester
from helpers.widgets.authinfo_editor import AuthInfoEditor
from helpers.widgets.dialogue_viewer import DialogueViewer
from helpers.widgets.form import Outcome
from helpers.widgets.inbox_viewer import InboxViewer
from helpers.widgets.mailertable_editor import MailertableEditor
from helpers.widgets.mc_editor import McEditor

__all__ = ["AddressTester", "AuthInfoEditor", "DialogueViewer", "InboxViewer", "MailertableEditor",
           "McEditor", "Outcome"]
