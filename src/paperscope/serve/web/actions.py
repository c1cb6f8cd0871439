"""The reader's Upvote and Save forms beside every paper of a list, rendered per request.

    actions = list_actions(request, [(rowid, paper), ...])   # rowid -> Markup
    paper_list(items, upvotes, actions=actions)              # templates/_papers.html

Lists themselves may be cached without the reader (pages._papers_html): there each item holds
`slot(rowid)`, which `fill_slots` replaces with this reader's forms.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from markupsafe import Markup

from paperscope.model import Paper
from paperscope.serve.web.site import site_of
from paperscope.store.library import Library, PaperState

TEMPLATE = "library/_list_actions.html"


def here(request: Request) -> str:
    """This page's path and query: where a form comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def list_actions(
    request: Request, items: Sequence[tuple[int, Paper]], prefix: str = ""
) -> dict[int, Markup]:
    """rowid -> the forms for each listed paper; element ids are `{prefix}act-{rowid}`, so a
    page that lists a paper twice (a pick and the day's list) passes another prefix."""
    if not items:
        return {}
    site = site_of(request)
    user = getattr(request.state, "user", None)
    library = Library(site.store)
    rowids = [rowid for rowid, _ in items]
    states = library.states(user.id, rowids) if user else {}
    local = library.upvote_counts(rowids)
    module = site.templates.env.get_template(TEMPLATE).make_module(
        {"request": request, "user": user}
    )
    next_url = here(request)
    return {
        rowid: module.list_actions(
            f"{prefix}act-{rowid}",
            paper,
            states.get(rowid, PaperState()),
            local.get(rowid, 0),
            user,
            next_url,
        )
        for rowid, paper in items
    }


def slot(rowid: int) -> Markup:
    return Markup(f"<!--actions:{int(rowid)}-->")


def fill_slots(html: Markup, actions: dict[int, Markup]) -> Markup:
    for rowid, markup in actions.items():
        html = Markup(html.replace(slot(rowid), markup, 1))
    return html
