"""The web face of paperscope: server-rendered pages, a JSON API, feeds and exports.

`app.create_app(settings)` builds the FastAPI application; each router module holds one part
of the site (pages, api, exports, account, library) and calls the library layers below; none
of them runs SQL.
"""
