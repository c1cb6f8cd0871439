"""`paperscope jobs`: which process of the cluster runs each background job."""

from __future__ import annotations

import typer

from paperscope.serve.cli import app
from paperscope.serve.cli.options import DbOption, JsonOption, open_existing_store


@app.command()
def jobs(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Which process runs each background job (embedding worker, digest scheduler).

    Each job's lease: the process that took it last (host:pid, since when, UTC) and whether
    it holds it now. A lease not held is taken by the next `serve` process that tries
    (within seconds)."""
    from paperscope.store.jobs import holders

    with open_existing_store(db) as store:
        found = holders(store)
    rows = [
        {"name": h.name, "holder": h.holder, "host": h.host, "pid": h.pid, "since": h.since,
         "held": h.held}
        for h in found
    ]  # fmt: skip
    if as_json:
        import orjson

        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        return
    if not rows:
        typer.echo("no background job has run on this store")
        return
    for row in rows:
        state = "held" if row["held"] else "free (its last holder ended)"
        typer.echo(f"{row['name']}: {row['holder']} since {row['since']}, {state}")
