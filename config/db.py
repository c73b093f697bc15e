"""Database helpers shared by the apps."""

from django.db import models


class Index(models.Index):
    """An index whose name may be as long as PostgreSQL allows.

    Django limits index names to 30 characters for Oracle's sake; the schema we keep
    (`shared/docs/schema.md`) names indexes such as `idx_reservations_date_time_status`.
    """

    max_name_length = 63
