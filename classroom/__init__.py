"""A class on one Docker host: each learner reaches only their own labs.

    python -m classroom engine up           # the class engine, its plugin, the lab images
    python -m classroom certs alice bob     # a client certificate for each learner
    python -m classroom certs --instructor carol
    python -m classroom engine status
    python -m classroom engine down [--purge]

The design, and why
-------------------
A learner's kernel must start, exec into and remove labs, so it needs a Docker
API; the host's own socket is root on the host. The class therefore gets an
engine of its own, and learners reach it only through the Docker engine's own
extension points, so labenv's Docker code runs unchanged for a learner:

* **The class engine** is a second ``dockerd`` with its own data root, exec
  root, pid file, root-only unix socket, bridge (``labenv-class0``) and address
  pools. It runs in a network namespace of its own (``labenv-class``).
  Started beside the host's engine in the same namespace with ``--iptables=true``,
  a second dockerd flushes the chains both engines share (DOCKER, DOCKER-ISOLATION-
  STAGE-1/2) as it starts: measured on this kind of host, the first engine lost
  the isolation rules between its networks and its published-port rules, while
  its ``docker run --rm`` still worked, so the damage goes unseen. With
  ``--iptables=false`` in the same namespace, the labs' bridged traffic needs
  hand-made rules, and every host user could still reach every lab's addresses.
  In a namespace of its own the engine keeps Docker's own iptables rules (isolation
  between lab networks included) in a ruleset the host's engine never sees, no
  host user has a route to a class lab, and stopping it removes its bridge and
  rules with the namespace.
* **The TCP listener** (127.0.0.1, ``--tlsverify``) is a socket opened in the
  host's namespace and handed to dockerd at start (socket activation,
  ``-H fd://``), so learners on the host reach it while the engine lives in its
  namespace. Each learner and instructor holds a client certificate whose CN is
  their name (``classroom.certs``); without one the TLS handshake fails.
* **The authorization plugin** ``labenv-authz`` (``classroom.authz``) sees every
  request with the certificate's CN. Root on the unix socket and instructors may
  do anything. A learner may act only on containers and networks labelled as
  their own labs (``labenv.lab=<name>-...``), create only a lab's containers
  with the lab's own settings, and nothing else (no build, pull, volume, plugin,
  swarm or prune). Every decision is logged.
* The lab images come from the host's engine by ``docker save | docker load``:
  learners cannot build or pull.

Paths and numbers are in ``classroom.enginecfg``.
"""
