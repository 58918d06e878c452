"""What notebooks import: the lab for a notebook, display, tables, the picture, widgets, exercises.

- :mod:`helpers.notebook`   start_lab, sh, finish: a notebook's own lab, shell-like output
- :mod:`helpers.display`    how results show in a cell (Text, Markdown, Printed, WidgetView)
- :mod:`helpers.tables`     the queue, the delivery log and the provider's inbox as DataFrames
- :mod:`helpers.picture`    the lab as an SVG drawing
- :mod:`helpers.widgets`    the editors and viewers (ipywidgets)
- :mod:`helpers.exercises`  checked exercises, above everything else here

The model of sendmail and the live layer they use are in :mod:`labenv`
(:mod:`labenv.sendmail`, :mod:`labenv.configure`, :mod:`labenv.testmode`, :mod:`labenv.mail`).
"""
