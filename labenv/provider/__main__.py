"""``python -m labenv.provider --profile provider|sink``: the provider's server (see server.py)."""

from __future__ import annotations

from labenv.provider.server import main

main()
