"""The pygame board (``gonet play``): the CLI starts it, nothing else in gonet imports it.

It lives inside the package so that an installed wheel adds no top-level ``gui`` package
to site-packages.
"""
