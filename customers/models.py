from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index
from customers.names import clean_display_name, isolate_text
from customers.phone import is_user_id, is_wa_id, normalize_wa_id


class CustomerQuerySet(models.QuerySet["Customer"]):
    def blocked(self) -> "CustomerQuerySet":
        return self.filter(is_blocked=True)

    def needing_staff(self) -> "CustomerQuerySet":
        """Customers waiting for a person: they asked for one, or wrote while the bot was paused
        (and no staff reply came since). The one definition the inbox filter, its badge and the
        dashboard's open hand-offs share; `flag_needing_staff` and staff replies keep it true."""
        return self.filter(needs_staff_since__isnull=False)

    def flag_needing_staff(self, *, since: datetime) -> int:
        """Mark these customers as waiting for staff from `since`, unless already waiting."""
        return self.filter(needs_staff_since__isnull=True).update(needs_staff_since=since)

    def touch_last_message(self, moment: datetime) -> int:
        """Move `last_message_at` forward to `moment` (never back); return rows changed."""
        return self.filter(
            models.Q(last_message_at__isnull=True) | models.Q(last_message_at__lt=moment)
        ).update(last_message_at=moment)

    def search(self, term: str) -> "CustomerQuerySet":
        term = term.strip()
        digits = "".join(ch for ch in term if ch.isdigit())
        query = models.Q(customer_name__icontains=term)
        if digits:
            query |= models.Q(wa_id__contains=digits)
        return self.filter(query)


class Customer(models.Model):
    class Language(models.TextChoices):
        ARABIC = "ar", _("Arabic")
        ENGLISH = "en", _("English")

    wa_id = models.TextField(
        _("WhatsApp number"),
        primary_key=True,
        help_text=_("International form, digits only, e.g. 966501234567."),
    )
    customer_name = models.TextField(
        _("name"),
        null=True,
        blank=True,
        help_text=_("Taken from the WhatsApp profile until staff correct it."),
    )
    age = models.PositiveSmallIntegerField(
        _("age when recorded"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(120)],
    )
    age_recorded_at = models.DateField(_("age recorded on"), null=True, blank=True)
    document = models.JSONField(_("notes document"), null=True, blank=True)
    # Beyond the original schema.
    user_id = models.TextField(
        _("business-scoped user id"),
        null=True,
        blank=True,
        help_text=_("Meta's BSUID (e.g. US.1349...), sent beside or instead of the number."),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, null=True, blank=True
    )
    is_blocked = models.BooleanField(_("blocked"), default=False)
    last_inbound_at = models.DateTimeField(
        _("last message from the customer"),
        null=True,
        blank=True,
        help_text=_("Opens WhatsApp's 24-hour window for free-form replies."),
    )
    bot_paused_until = models.DateTimeField(
        _("bot paused until"),
        null=True,
        blank=True,
        help_text=_("Set by a hand-off to staff; the bot stays silent for this customer."),
    )
    profile_name = models.TextField(_("WhatsApp profile name"), null=True, blank=True)
    needs_staff_since = models.DateTimeField(
        _("waiting for staff since"),
        null=True,
        blank=True,
        help_text=_("Set when the customer asks for a person; cleared when staff answer."),
    )
    staff_read_at = models.DateTimeField(_("staff last read"), null=True, blank=True)
    last_message_at = models.DateTimeField(
        _("last message"), null=True, blank=True, help_text=_("Either direction; orders the inbox.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        db_table = "customers"
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["customer_name", "wa_id"]
        indexes = [
            Index(fields=["wa_id"], name="idx_customers_wa_id"),
            Index(fields=["customer_name"], name="idx_customers_name"),
            Index(fields=["-last_message_at"], name="idx_customers_last_message"),
            Index(
                fields=["needs_staff_since"],
                condition=models.Q(needs_staff_since__isnull=False),
                name="idx_customers_needs_staff",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(age__isnull=True) | models.Q(age__gte=0, age__lte=120),
                name="ck_customers_age_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(wa_id=""), name="ck_customers_wa_id_not_empty"
            ),
            models.UniqueConstraint(
                fields=["user_id"],
                condition=models.Q(user_id__isnull=False),
                name="uq_customers_user_id_not_null",
            ),
        ]

    def __str__(self) -> str:
        # The name in a bidi isolate: wherever this string is printed (the admin's columns and
        # menus), a right-to-left name cannot reorder what follows it.
        key = f"+{self.wa_id}" if is_wa_id(self.wa_id) else self.wa_id  # a number, or a BSUID
        if self.customer_name:
            return f"{isolate_text(self.customer_name)} ({isolate_text(key)})"
        return isolate_text(key)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every way a name arrives (WhatsApp profile, the bot, staff, the admin) ends here.
        self.customer_name = clean_display_name(self.customer_name)
        self.profile_name = clean_display_name(self.profile_name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        # A new customer's number is normalised; a business-scoped user id (a customer WhatsApp
        # gave no number for) and an existing row's key are kept as they are.
        if self.wa_id and self._state.adding and not is_user_id(self.wa_id):
            self.wa_id = normalize_wa_id(self.wa_id)
        if self.age is not None and self.age_recorded_at is None:
            self.age_recorded_at = timezone.localdate()
        if self.age_recorded_at and self.age_recorded_at > timezone.localdate():
            raise ValidationError({"age_recorded_at": _("This date is in the future.")})

    def current_age(self, *, on: date | None = None) -> int | None:
        """Age today: the recorded age plus the whole years since it was recorded."""
        if self.age is None:
            return None
        if self.age_recorded_at is None:
            return self.age
        on = on or timezone.localdate()
        recorded = self.age_recorded_at
        years = on.year - recorded.year - ((on.month, on.day) < (recorded.month, recorded.day))
        return self.age + max(years, 0)

    @property
    def message_language(self) -> str:
        """The language to write to this customer in: theirs, else the clinic's."""
        return self.language or settings.LANGUAGE_CODE

    @property
    def has_unread(self) -> bool:
        """A customer message arrived after staff last opened the conversation."""
        if self.last_inbound_at is None:
            return False
        return self.staff_read_at is None or self.staff_read_at < self.last_inbound_at

    def take_profile_name(self, name: str) -> list[str]:
        """Follow the WhatsApp profile name, unless staff have corrected the name.

        Returns the fields changed, for `save(update_fields=...)`.
        """
        name = clean_display_name(name) or ""
        if not name or name == self.profile_name:
            return []
        changed = ["profile_name"]
        if not self.customer_name or self.customer_name == self.profile_name:
            self.customer_name = name
            changed.append("customer_name")
        self.profile_name = name
        return changed

    @property
    def is_bot_paused(self) -> bool:
        return self.bot_paused_until is not None and self.bot_paused_until > timezone.now()

    def can_receive_free_form(self, *, margin_minutes: int = 5) -> bool:
        """Whether WhatsApp's 24-hour customer service window is open (with a safety margin)."""
        if self.last_inbound_at is None:
            return False
        window = timedelta(hours=24) - timedelta(minutes=margin_minutes)
        return timezone.now() - self.last_inbound_at < window
