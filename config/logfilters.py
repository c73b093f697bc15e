"""Log filters for the console handler (besides config.redaction's masking of secrets)."""

import logging


class ClientErrorsInOneLine(logging.Filter):
    """A 4xx is the client's doing (a page a role may not open, a missing page, a malformed
    query): Django logs it with the exception's traceback, 40 lines for an expected refusal.
    Keep the one line that says what and where; 5xx keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
