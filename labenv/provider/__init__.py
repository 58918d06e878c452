"""The lab's mail provider, an aiosmtpd server; it runs inside the relayhost image.

- :mod:`~labenv.provider.server`  the SMTP server, its profiles and knobs (``python -m labenv.provider``)
- :mod:`~labenv.provider.state`   the knobs and the record of sessions, as files
- :mod:`~labenv.provider.ctl`     ``relayhost-ctl``: the knobs and the record as JSON

Only the standard library, aiosmtpd and :mod:`labenv.sendmail.secrets`: the image holds
these files and nothing else of labenv.
"""
