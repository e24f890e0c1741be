"""Benchmark hooks of the peer project: a query counter and the trivial view."""

from django.db import connections
from django.http import HttpResponse


class QueryCountMiddleware:
    """Put the number of SQL statements a request ran in the ``X-Bench-Queries`` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = [0]

        def counter(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(count[0])
        return response


def trivial(_request):
    """The floor: a Django view that does nothing."""
    return HttpResponse("ok", content_type="text/plain")
