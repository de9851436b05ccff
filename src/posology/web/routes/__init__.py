"""The clinician's pages, one router per resource, each built by ``routes(deps)`` from
:class:`posology.web.routes.deps.PageDeps` (as the API's routers are from its ``Deps``)."""
