from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from backends import wanted as backends_wanted

FIXTURES = Path(__file__).parent / "fixtures"
#: The real recordings and pages the README, tests and benchmarks use (samples/SOURCES.md).
SAMPLES = Path(__file__).parent.parent / "samples"
FORMATS = SAMPLES / "formats"
PAGES = SAMPLES / "pages"
#: The day the tests read the sample pages on. The Hugging Face search page dates papers
#: "Oct 7": the latest such day not after the reading day. The days the tests expect (the web
#: store's days and months, its latest day) are those of a reading in late 2026; read on the
#: real day, "Jan 9" would become a 2027 paper, and the web store's latest day, on 2027-01-09.
READ_ON = date(2026, 12, 1)


@pytest.fixture(scope="session", autouse=True)
def _sample_pages_read_on_a_fixed_day():
    """`import` (the importer the registry picks) reads the sample pages on READ_ON."""
    from paperscope.ingest.registry import by_name

    importer = by_name("page-hf-search")
    before, importer.today = importer.today, READ_ON
    yield
    importer.today = before


@pytest.fixture(scope="session", autouse=True)
def _data_home(tmp_path_factory):
    """The per-user data folder ($XDG_DATA_HOME) of the session: where a PostgreSQL store's
    index folder goes by default, never the home folder of whoever runs the tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
    yield
    mp.undo()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


WEB = FIXTURES / "web"
#: What the web tests' store holds: the three sample pages, a Hugging Face daily list and the
#: two hostile papers of fixtures/web (a script-tag title, an attribute-breaking author).
WEB_SOURCES = (
    *sorted(PAGES.glob("*.txt")),
    FORMATS / "huggingface-papers" / "daily-papers-2026-02-25-50-papers.json",
    WEB / "xss-papers.jsonl",
)
#: The hostile papers' title and first author (fixtures/web/xss-papers.jsonl, id XSS_ID).
XSS_ID = "2611.00001"
XSS_TITLE = "<script>alert(1)</script>"
XSS_AUTHOR = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def sample_store(pristine_store, tmp_path_factory) -> Path:
    """A store with WEB_SOURCES imported and embedded, shared by the session's read-only
    tests; tests that write use `store_copy`."""
    from webtools import copy_store

    # pages served in single-user mode create the local user on first use, so the shared
    # store does change; `store_copy` starts from the pristine build instead
    return copy_store(pristine_store, tmp_path_factory.mktemp("sample-store") / "papers.db")


@pytest.fixture(scope="session")
def pristine_store(tmp_path_factory) -> Path:
    """WEB_SOURCES imported and embedded, never opened by a test."""
    from webtools import build_store

    return build_store(tmp_path_factory.mktemp("pristine-store") / "papers.db", WEB_SOURCES)


@pytest.fixture
def store_copy(pristine_store, tmp_path) -> Path:
    """A private copy of the sample store (file and indexes) a test may change."""
    from webtools import copy_store

    return copy_store(pristine_store, tmp_path / "papers.db")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by playwright (browsers cannot be downloaded here)."""
    from webtools import launch_browser

    with launch_browser() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A fresh browser context and page; any JavaScript dialog (alert) fails the test."""
    from webtools import new_page

    with new_page(browser) as page:
        yield page


@pytest.fixture(scope="module", params=backends_wanted())
def sample_db(request) -> Path | str:
    """The sample store on each backend, shared by one module's read-only tests: the session's
    `sample_store` file, or a PostgreSQL copy of the pristine store (its index folder under
    the session's data folder, `_data_home`)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sample_store")
        return
    import shutil

    from paperscope.index.paths import index_dir

    server = request.getfixturevalue("pg_server")
    name, index = request.getfixturevalue("pristine_pg")
    url = server.fresh(template=name)
    shutil.copytree(index, index_dir(url))
    yield url
    server.drop(url)
    shutil.rmtree(index_dir(url), ignore_errors=True)


@pytest.fixture(scope="module")
def client(sample_db):
    """A TestClient on the sample store of each backend, one per test module (read-only
    tests)."""
    from webtools import client_for

    with client_for(sample_db) as client:
        yield client


# ---------------------------------------------------------------- backends (tests/backends.py)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL 18 (pgserver), started on first use. Its data folder is not
    under pytest's basetemp: another pytest session's clean-up of old basetemps (which makes
    them writable, then deletes them) would pull it away from the running server."""
    import shutil
    import tempfile

    from backends import PgServer

    folder = Path(tempfile.mkdtemp(prefix="paperscope-test-pg-"))
    server = PgServer(folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        from backends import wanted

        metafunc.parametrize("backend", wanted())


@pytest.fixture
def db_target(request, backend, tmp_path, monkeypatch) -> str | Path:
    """A new, empty store of `backend`: a SQLite file path or a PostgreSQL URL (its index
    folder in tmp_path, through $PAPERSCOPE_INDEX_DIR)."""
    if backend == "sqlite":
        yield tmp_path / "papers.db"
        return
    server = request.getfixturevalue("pg_server")
    url = server.fresh()
    monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "index"))
    yield url
    server.drop(url)


@pytest.fixture(scope="session")
def pristine_pg(pg_server, pristine_store, tmp_path_factory) -> tuple[str, Path]:
    """The pristine sample store copied into PostgreSQL once (`paperscope db copy`), and a
    copy of its index folder: (database name, index folder)."""
    import shutil

    from paperscope.index.paths import index_dir
    from paperscope.store.backends import open_store
    from paperscope.store.copy import copy_store

    url = pg_server.fresh(migrated=False)
    with open_store(pristine_store) as src, open_store(url) as dst:
        assert copy_store(src, dst).same
    index = tmp_path_factory.mktemp("pristine-pg") / "index"
    shutil.copytree(index_dir(pristine_store), index)
    return pg_server.database_name(url), index


@pytest.fixture
def store_any(request, backend, tmp_path, monkeypatch) -> Path | str:
    """`store_copy` on each backend: a private copy of the sample store (and its indexes) as a
    SQLite file, or as a PostgreSQL database (its indexes in $PAPERSCOPE_INDEX_DIR)."""
    import shutil

    if backend == "sqlite":
        yield request.getfixturevalue("store_copy")
        return
    server = request.getfixturevalue("pg_server")
    name, index = request.getfixturevalue("pristine_pg")
    url = server.fresh(template=name)
    shutil.copytree(index, tmp_path / "index")
    monkeypatch.setenv("PAPERSCOPE_INDEX_DIR", str(tmp_path / "index"))
    yield url
    server.drop(url)
