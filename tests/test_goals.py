"""Goal definitions in accounts.db (analytics/accounts/goals.py): validation, order, duplicates, limits."""

from __future__ import annotations

import pytest
from conftest import Instance

from analytics.accounts import goals
from analytics.accounts.validate import AdminError


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("event", "  ", "An event goal needs the event's name, e.g. Signup."),
        ("event", "x" * 121, "An event name has at most 120 characters and no control characters."),
        ("event", "Sign\nup", "An event name has at most 120 characters and no control characters."),
        ("event", "pageview", '"pageview" is not a custom event; for a page, add a page goal.'),
        ("page", "thanks", "A page goal is a path that starts with /, e.g. /thanks or /blog/*."),
        ("page", "/" + "a" * 2000, "A page path has at most 2000 characters and no control characters."),
        ("url", "/x", "A goal is a custom event or a page."),
    ],
)
def test_bad_goals_are_named(kind: str, value: str, message: str) -> None:
    with pytest.raises(AdminError) as err:
        goals.clean(kind, value)
    assert str(err.value) == message


async def test_goals_are_kept_per_site_in_order(instance: Instance) -> None:
    a = await instance.accounts.sites.add("a.example.org")
    b = await instance.accounts.sites.add("b.example.org")
    repo = instance.accounts.goals
    signup = await repo.add(a.id, "event", " Signup ")
    blog = await repo.add(a.id, "page", "/blog/*")
    await repo.add(b.id, "event", "Signup")  # the same goal on another site is another goal
    assert [(g.kind, g.value, g.name) for g in await repo.for_site(a.id)] == [
        ("event", "Signup", "Signup"), ("page", "/blog/*", "Visit /blog/*"),
    ]  # fmt: skip
    with pytest.raises(AdminError, match="That goal is already defined."):
        await repo.add(a.id, "event", "Signup")
    assert await repo.remove(a.id, signup.id) and not await repo.remove(a.id, signup.id)
    assert not await repo.remove(b.id, blog.id)  # another site's goal id is not this site's
    assert [g.name for g in await repo.for_site(a.id)] == ["Visit /blog/*"]
    for i in range(goals.MAX_GOALS - 1):
        await repo.add(a.id, "event", f"E{i}")
    with pytest.raises(AdminError, match="A site has at most 100 goals."):
        await repo.add(a.id, "event", "one too many")
