"""Accounts, kept apart from the events in their own SQLite file, `accounts.db`.

`Accounts` (repository.py) is the entry point; its parts are `sites`,
`users` (and roles), `invitations`, `keys`, `logins` (sign-in state), `goals`, `salts`, with the Stats
API rate limit in `ratelimit` and password hashing in `passwords`. All SQL on
accounts lives in this package.
"""

from analytics.accounts.repository import Accounts

__all__ = ["Accounts"]
