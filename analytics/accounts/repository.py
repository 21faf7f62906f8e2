"""`Accounts`: the one entry point to accounts.db, opened and closed next to the event store.

Handlers reach it as `request.app.state.accounts`; the CLI, the demo and the
benchmark open it on a data dir with `Accounts.in_dir(data_dir)`.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from analytics.accounts import upgrade
from analytics.accounts.db import Database
from analytics.accounts.goals import Goals
from analytics.accounts.invitations import Invitations
from analytics.accounts.keys import Keys
from analytics.accounts.logins import Logins
from analytics.accounts.salts import Salts
from analytics.accounts.sites import Sites
from analytics.accounts.users import Users
from analytics.clock import Clock

FILE_NAME = "accounts.db"
EVENTS_FILE_NAME = "analytics.db"  # where release 0.1 kept the accounts


class Accounts:
    """Sites, users, invitations, keys, sign-in state, dashboard options, goals and salts, in their own SQLite file."""

    def __init__(self, path: str | Path, *, clock: Clock | None = None, legacy: str | Path | None = None) -> None:
        """`legacy`: an event database whose release 0.1 account tables are taken over on open."""
        self.path = Path(path)
        self.clock = clock or Clock()
        self.legacy = Path(legacy) if legacy is not None else None
        self.db = Database(self.path)
        self.sites = Sites(self.db, self.clock)
        self.users = Users(self.db, self.clock)
        self.keys = Keys(self.db, self.clock, self.users)
        self.invitations = Invitations(self.db, self.clock)
        self.logins = Logins(self.db)
        self.salts = Salts(self.db)
        self.goals = Goals(self.db, self.clock)

    @classmethod
    def in_dir(cls, data_dir: str | Path, clock: Clock | None = None) -> Accounts:
        """The accounts of a data dir: accounts.db beside analytics.db."""
        d = Path(data_dir)
        return cls(d / FILE_NAME, clock=clock, legacy=d / EVENTS_FILE_NAME)

    async def open(self) -> None:
        """Create or migrate accounts.db, then take over a release 0.1 analytics.db's accounts.

        Open this before the event store: its migration 0006 drops those tables
        only once they are safe here.
        """
        await self.db.open()
        try:
            if self.legacy is not None:
                await upgrade.take_over(self.db, self.legacy, int(self.clock.now()))
        except BaseException:
            await self.db.close()
            raise

    async def close(self) -> None:
        await self.salts.close()
        await self.db.close()

    async def __aenter__(self) -> Accounts:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
