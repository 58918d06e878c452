"""One parser module per command output, in the style of the ``jc`` project.

Every module offers ``parse(text) -> list[dict]`` (JSON-friendly rows) and
``to_frame(rows) -> pandas.DataFrame``:

- :mod:`labenv.sendmail.parsers.bt`       -- ``sendmail -bt`` sessions (/parse, /try, =M, /map, $=)
- :mod:`labenv.sendmail.parsers.mailq`    -- ``mailq`` (MSP and MTA queues, deferral reasons)
- :mod:`labenv.sendmail.parsers.dialogue` -- the SMTP dialogue ``sendmail -v`` prints
- :mod:`labenv.sendmail.parsers.maillog`  -- /var/log/mail.log lines
"""
