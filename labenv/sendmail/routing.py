"""A pure-Python model of how Debian's sendmail.cf routes a recipient (ruleset Parse1).

It follows the rules real sendmail applies, in this order, and answers in the
shape of ``sendmail -bt`` ``/parse`` (mailer, host, user) plus the mailertable key
that matched::

    >>> table = {".darknet.lan": "esmtp:[mailhost.private.lan]", ".lan": "esmtp:[%1.lan]",
    ...          ".": "relay:[relayhost.somedom.com]"}
    >>> route("x@hosta.private.lan", table)
    Route(address='x@hosta.private.lan', mailer='esmtp', host='[hosta.private.lan]', user='x@hosta.private.lan', key='.lan')

1. No host part, or a host in class ``$=w`` (``local_names``): mailer ``local``.
2. A ``[1.2.3.4]`` literal skips the mailertable (smart host, else esmtp).
3. mailertable, most- to least-qualified: the full host; then ``.rest`` after
   stripping one more leading label (a ``.domain`` key needs a non-empty prefix,
   so ``darknet.lan`` never matches ``.darknet.lan``); then ``.``. Keys are
   case-insensitive. In the value ``%0`` is the key looked up, ``%1`` the stripped
   prefix (``hosta.private`` for ``hosta.private.lan`` under ``.lan``; the whole
   host under ``.``), ``%2`` the last label stripped.
4. No match: SMART_HOST if set, else ``esmtp`` to the host itself.
Host names come out lower-cased, as ``/parse`` prints them.

Before all this sendmail canonifies the host with the resolver (``$[ ... $]``):
a name the DNS knows becomes its canonical name with a trailing dot, and a short
name is qualified with the server's own domain (``hosta`` -> ``hosta.private.lan.``
on mailserver.private.lan). Pass what the DNS knows as ``canonical`` (lower-case
name -> canonical name); ``labenv.topology.canonical_names()`` is the lab's.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from labenv.sendmail.validate import check_address

_DSN = re.compile(r"^(\d+\.\d+\.\d+):(.+)$")
_ERROR_HOST = re.compile(r"^([^\s:]+):(.+)$")


@dataclass(frozen=True)
class Route:
    """Where sendmail sends one recipient; ``key`` is the mailertable key that matched."""

    address: str
    mailer: str
    host: str | None
    user: str
    key: str | None = None


def split_address(address: str) -> tuple[str, str | None]:
    """``(local part, host)``; the address inside ``<...>`` is used when present."""
    text = check_address("address", address)
    if "<" in text and text.rstrip().endswith(">"):
        text = text[text.rindex("<") + 1:-1].strip()
    local, at, host = text.rpartition("@")
    if not at:
        return text, None
    return local, host.rstrip(".")


def candidate_keys(host: str) -> list[tuple[str, str, str]]:
    """The lookups sendmail makes for ``host``, in order, as ``(key, %1, %2)``."""
    labels = host.split(".")
    out = [(host, "", "")]
    for i in range(1, len(labels)):
        out.append(("." + ".".join(labels[i:]), ".".join(labels[:i]), labels[i - 1]))
    out.append((".", host, ""))
    return out


def expand(value: str, key: str, p1: str, p2: str) -> str:
    """Replace ``%0``/``%1``/``%2`` (other digits expand to nothing) as sendmail's map does."""
    args = {"0": key, "1": p1, "2": p2}
    return re.sub(r"%(\d)", lambda m: args.get(m.group(1), ""), value)


def _table(mailertable: Mapping[str, str] | pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    if mailertable is None:
        return {}
    if isinstance(mailertable, pd.DataFrame):
        pairs = [(k, f"{m}:{h}") for k, m, h in
                 mailertable.loc[:, ["key", "mailer", "host"]].itertuples(index=False)]
    else:
        pairs = list(mailertable.items())
    return {key.lower(): (key, value) for key, value in pairs}


def mailer_to_triple(value: str, local: str, host: str) -> tuple[str, str | None, str]:
    """Turn a ``mailer:host`` value (or a bare smart host) into ``(mailer, host, user)``."""
    address = f"{local}@{host}"
    mailer, sep, rest = value.partition(":")
    if not sep or mailer.startswith("["):
        return "relay", value.lower(), address
    if mailer == "error":
        match = _DSN.match(rest) or _ERROR_HOST.match(rest)
        return ("*error*", match.group(1), match.group(2)) if match else ("*error*", None, rest)
    if mailer == "local":
        return "local", address.lower(), rest.partition("@")[0] or local
    if "@" in rest:
        user, _, target = rest.rpartition("@")
        return mailer, target.lower(), f"{user}@{target}"
    return mailer, rest.lower(), address


def canonify(host: str, canonical: Mapping[str, str] | None) -> tuple[str, bool]:
    """``(host as sendmail sees it after canonification, whether the DNS knew it)``."""
    known = (canonical or {}).get(host.lower())
    if known is None:
        return host, False
    # The resolver answers a full name as it was asked, a short one qualified.
    return (host if known.lower() == host.lower() else known), True


def route(address: str, mailertable: Mapping[str, str] | pd.DataFrame | None = None, *,
          local_names: Iterable[str] = (), smart_host: str | None = None,
          canonical: Mapping[str, str] | None = None) -> Route:
    """Route one recipient address the way sendmail's Parse1 ruleset does."""
    local, host = split_address(address)
    if host is not None and not host.startswith("["):
        host, resolved = canonify(host, canonical)
    else:
        resolved = False
    if host is None or host.lower() in {n.lower().rstrip(".") for n in local_names}:
        return Route(address, "local", None, local)
    if not host.startswith("["):
        table = _table(mailertable)
        for key, p1, p2 in candidate_keys(host):
            if key.lower() in table:
                written, value = table[key.lower()]
                mailer, target, user = mailer_to_triple(expand(value, key, p1, p2), local, host)
                return Route(address, mailer, target, user, written)
    if smart_host:
        mailer, target, user = mailer_to_triple(smart_host, local, host)
        return Route(address, mailer, target, user)
    return Route(address, "esmtp", host.lower() + ("." if resolved else ""), f"{local}@{host}")


def route_frame(addresses: Iterable[str], mailertable=None, *, local_names: Iterable[str] = (),
                smart_host: str | None = None,
                canonical: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The model's routes for many addresses, columns as :func:`labenv.testmode.route_table`."""
    names = list(local_names)
    rows = [route(a, mailertable, local_names=names, smart_host=smart_host,
                  canonical=canonical).__dict__
            for a in addresses]
    return pd.DataFrame(rows, columns=["address", "mailer", "host", "user", "key"])
