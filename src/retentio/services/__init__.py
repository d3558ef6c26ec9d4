"""The service layer: what the pages, the REST API and the CLI call.

Each function takes the database engine and the :class:`~retentio.auth.roles.Principal`
acting, checks the role first (:func:`~retentio.auth.roles.require`), and returns
plain data (dicts, lists, numbers, ISO strings): the faces only parse input and
render output, so a page and its API twin cannot disagree.
"""
