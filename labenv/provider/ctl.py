"""Control the lab's provider from inside its container; every command prints JSON.

  relayhost-ctl sessions              the recorded sessions, oldest first
  relayhost-ctl clear                 forget the recorded sessions
  relayhost-ctl state                 the knobs as they are now
  relayhost-ctl users USER=PASS ...   replace the accepted logins
  relayhost-ctl reject-auth on|off    answer every AUTH with 454
  relayhost-ctl strict-authzid on|off refuse PLAIN logins whose authzid differs
  relayhost-ctl strip-starttls on|off answer as a man in the middle that strips STARTTLS:
                                      no STARTTLS offered, AUTH offered in the clear
  relayhost-ctl fail CODE N           answer 421 (at connect) or 451 (at MAIL) N times
  relayhost-ctl down | up             stop or resume listening, waiting until done
  relayhost-ctl reset                 all knobs back to their defaults

Passwords never reach the output: the knobs show who may log in, not the secrets.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from labenv import wait
from labenv.provider.state import Store
from labenv.sendmail.secrets import mask_users

NO_ARGUMENTS = ("sessions", "clear", "state", "down", "up", "reset")
WAIT_LISTENING = 10.0


def _on_off(word: str) -> bool:
    if word not in ("on", "off"):
        raise SystemExit(f"relayhost-ctl: expected on or off, got {word!r}")
    return word == "on"


def _users(pairs: list[str]) -> dict[str, str]:
    users = {}
    for pair in pairs:
        user, sep, password = pair.partition("=")
        if not sep or not user:
            raise SystemExit("relayhost-ctl: users takes USER=PASSWORD pairs")
        users[user] = password
    return users


def _masked(out):
    if isinstance(out, dict) and isinstance(out.get("users"), dict):
        return {**out, "users": mask_users(out["users"])}
    return out


def wait_listening(store: Store, want: bool, timeout: float = WAIT_LISTENING) -> dict:
    """The server's status once it follows the listening knob."""
    def followed() -> dict | None:
        status = store.status()
        return status if status.get("listening") == want else None

    try:
        return wait.until(followed, timeout, "the listening knob", interval=0.05)
    except wait.TimedOut:
        raise SystemExit("relayhost-ctl: the provider did not follow the listening knob") from None


def run(store: Store, verb: str, args: list[str]):
    """What one command does; its output, passwords still in."""
    if verb in NO_ARGUMENTS and args:
        raise SystemExit(f"relayhost-ctl: {verb} takes no arguments (got {' '.join(args)!r})")
    if verb == "sessions":
        return store.sessions()
    if verb == "clear":
        store.clear_sessions()
        return {"cleared": True}
    if verb == "state":
        return {**store.knobs(), "status": store.status()}
    if verb == "users":
        return store.update(users=_users(args))
    if verb == "reject-auth" and len(args) == 1:
        return store.update(reject_auth=_on_off(args[0]))
    if verb == "strict-authzid" and len(args) == 1:
        return store.update(strict_authzid=_on_off(args[0]))
    if verb == "strip-starttls" and len(args) == 1:
        return store.update(strip_starttls=_on_off(args[0]))
    if verb == "fail" and len(args) == 2:
        if args[0] not in ("421", "451") or not args[1].isdigit():
            raise SystemExit("relayhost-ctl: fail takes 421|451 and a count")
        return store.update(faults={"code": int(args[0]), "count": int(args[1])})
    if verb in ("down", "up"):
        store.update(listening=verb == "up")
        return wait_listening(store, verb == "up")
    if verb == "reset":
        store.reset()
        return wait_listening(store, True)
    raise SystemExit("relayhost-ctl: unknown command; see relayhost-ctl --help")


def main(argv: list[str] | None = None, store: Store | None = None, out: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=out)
        return 0
    result = run(store or Store(), argv[0], argv[1:])
    json.dump(_masked(result), out, sort_keys=True)
    out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
