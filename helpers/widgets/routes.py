"""How sendmail routes test addresses: the table under the address tester and the mailertable editor."""
from __future__ import annotations

import pandas as pd

from labenv import configure, testmode
from labenv.sendmail.routing import route_frame
from labenv.topology import canonical_names

DEFAULT_ADDRESSES = ["bob@example.com", "x@hosta.private.lan", "x@darknet.lan",
                     "x@box.darknet.lan", "root@mailserver.private.lan", "root"]


def routes_frame(lab, addresses: list[str]) -> pd.DataFrame:
    """sendmail's routing of ``addresses`` (one ``sendmail -bt``): address, mailer, host, user, key."""
    frame = testmode.route_table(lab, addresses)
    return frame.drop(columns=[c for c in ("trace", "lookups") if c in frame.columns])


def with_model(lab, real: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """``real`` plus the pure model's ``mailer:host`` (column model) and whether the two agree."""
    smart = configure.read_mc(lab).config().smart_host
    model = route_frame(list(real["address"]), table, local_names=testmode.class_members(lab, "w"),
                        smart_host=smart, canonical=canonical_names())
    hosts = [_clean(h) for h in model["host"]]
    out = real.copy()
    out["model"] = [f"{m}:{h}" if h else m for m, h in zip(model["mailer"], hosts, strict=True)]
    out["agree"] = [(rm, _clean(rh)) == (mm, mh) for rm, rh, mm, mh in
                    zip(real["mailer"], real["host"], model["mailer"], hosts, strict=True)]
    return out


def _clean(value):
    """None for a missing value (pandas gives NaN)."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
