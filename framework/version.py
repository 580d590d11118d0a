"""webserv's version and the product name it sends (``Server``, error pages, CGI's
``SERVER_SOFTWARE``). A module of its own so that the HTTP engine can import it while the
``framework`` package is still initialising."""

__version__ = "0.1.0"
PRODUCT = "webserv"
PRODUCT_VERSION = f"{PRODUCT}/{__version__}"
