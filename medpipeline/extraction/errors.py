"""How a provider call failed, classified once so the chain can decide: retry, wait, split, move
on, or leave the provider out for the rest of the run."""

from enum import StrEnum

from medpipeline.costs import TokenUsage


class ErrorClass(StrEnum):
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    CONTEXT_TOO_LONG = "context_too_long"
    MALFORMED = "malformed"
    REFUSAL = "refusal"
    TRUNCATED = "truncated"  # cut by max_tokens: the chunk is split and asked again
    NOT_FOUND = "not_found"  # HTTP 404: no such model or endpoint at this provider
    UNPROCESSABLE = "unprocessable"  # HTTP 422: the provider cannot serve this request shape


RETRYABLE = {ErrorClass.RATE_LIMIT, ErrorClass.TRANSIENT, ErrorClass.MALFORMED}
# Every later chunk would fail the same way: the provider is skipped for the rest of the run.
PERMANENT = {ErrorClass.NOT_FOUND, ErrorClass.UNPROCESSABLE}


class ProviderError(Exception):
    """A classified provider failure. The message is ours, never the provider's text."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
        request_id: str | None = None,
    ):
        super().__init__(f"{error_class.value}: {message}")
        self.error_class = error_class
        self.retry_after = retry_after
        self.usage = usage
        self.request_id = request_id
