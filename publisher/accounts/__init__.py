"""The console's people: users and their roles, how they prove who they are (passwords, sessions,
personal API tokens, set-password links), the login throttle, and the audit log of every change.

One module per concept; ``publisher/app.py`` wires them. The web side (``publisher/web/console``)
and the ops API's guard use them; nothing here knows about HTTP.
"""
