"""What the notebooks import: config models, map tables, routing, parsers and live runners.

Pure modules (no lab needed): :mod:`helpers.validate`, :mod:`helpers.mc`,
:mod:`helpers.maps` (tables), :mod:`helpers.routing`, :mod:`helpers.parsers`.
Live functions take a ``lab`` object first and reach Docker only through
``lab.exec(role, cmd, stdin=..., user=...)``.
"""
