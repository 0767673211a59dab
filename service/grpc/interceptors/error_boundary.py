"""The last word on a call's status: one boundary around every step.

`ErrorBoundary` is the outermost step. It gives the call its context (request id, trace id,
deadline) for every step inside it, and turns anything unexpected, raised in any step or in the
servicer, into INTERNAL without a word of the exception's text, logged with the request id.
(The servicer's own errors become their statuses innermost, in service/grpc/interceptors/chain.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc

from service.grpc import context as ctx
from service.grpc import status
from service.grpc.grpc_types import status_code
from service.grpc.interceptors._unary import Behaviour, UnaryInterceptor

log = logging.getLogger(__name__)


class ErrorBoundary(UnaryInterceptor):
    def handle(self, method: str, request: Any, context: grpc.ServicerContext, proceed: Behaviour) -> Any:
        call = ctx.Call.of(context)
        token = ctx.call.set(call)
        try:
            return proceed(request, context)
        except Exception:
            if status_code(context) is not None:
                raise  # an abort() from further in: its status is already set
            # The fields go on the record itself: a handler may format it after the call has ended.
            log.exception("unhandled error in %s", method, extra={"rpc": {"method": method, **call.log_fields()}})
            context.abort_with_status(status.INTERNAL)
        finally:
            ctx.call.reset(token)


def observed(proceed: Behaviour, request: Any, context: grpc.ServicerContext, finish: Callable[[grpc.StatusCode], None]) -> Any:
    """Runs the rest of the call, then tells `finish` the code the call ends with, when it raises too:
    an abort's code, or the INTERNAL that the boundary makes of anything else."""
    try:
        response = proceed(request, context)
    except Exception:
        finish(status_code(context) or grpc.StatusCode.INTERNAL)
        raise
    finish(status_code(context) or grpc.StatusCode.OK)
    return response
