"""An in-process emulator of Google's Calendar API, OAuth and push channels.

The core (``state``, ``listing``, ``notify``, ``server``) is plain Python and
runs without Django; ``apps`` and the ``googleemulator`` management command
are the only Django-aware parts.
"""
