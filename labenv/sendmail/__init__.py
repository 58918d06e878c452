"""The pure model of Debian's sendmail: nothing here needs a lab or a Docker engine.

- :mod:`~labenv.sendmail.paths`      where the files live under /etc/mail
- :mod:`~labenv.sendmail.validate`   every value that may reach sendmail.mc, a map or ``-bt``
- :mod:`~labenv.sendmail.mc`         sendmail.mc as a model (``SendmailMc``, ``RelayConfig``)
- :mod:`~labenv.sendmail.maps`       mailertable and authinfo as tables
- :mod:`~labenv.sendmail.howto`      the howto's configuration (literal and fixed)
- :mod:`~labenv.sendmail.routing`    how sendmail.cf routes a recipient (ruleset Parse1)
- :mod:`~labenv.sendmail.secrets`    credentials masked in every text shown
- :mod:`~labenv.sendmail.parsers`    one parser per command output (-bt, mailq, -v, mail.log)
"""
