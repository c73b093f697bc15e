"""Questions customers ask and the staff's answers (`faq_entries`), in Arabic and English."""

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FaqEntryQuerySet(models.QuerySet["FaqEntry"]):
    def active(self) -> "FaqEntryQuerySet":
        return self.filter(is_active=True)


class FaqEntry(models.Model):
    """One question and its answer; customers' messages are matched on its keywords."""

    class Kind(models.TextChoices):
        TEXT = "text", _("the answer below")
        OPENING_HOURS = "opening_hours", _("the opening hours, from the schedule")

    question_en = models.CharField(_("question (English)"), max_length=200)
    question_ar = models.CharField(_("question (Arabic)"), max_length=200, blank=True)
    keywords_en = models.TextField(
        _("English keywords"),
        blank=True,
        help_text=_("Words or phrases that mean this question, one per line or comma-separated."),
    )
    keywords_ar = models.TextField(
        _("Arabic keywords"),
        blank=True,
        help_text=_(
            "One per line or comma-separated; spelling variants (أ/ا, ة/ه, ى/ي) match each other."
        ),
    )
    kind = models.CharField(_("answer with"), max_length=16, choices=Kind.choices, default="text")
    answer_en = models.TextField(_("answer (English)"), blank=True)
    answer_ar = models.TextField(_("answer (Arabic)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("When two questions match, the lower one wins.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = FaqEntryQuerySet.as_manager()

    class Meta:
        db_table = "faq_entries"
        verbose_name = _("question and answer")
        verbose_name_plural = _("questions and answers (FAQ)")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="opening_hours") | ~models.Q(answer_en="", answer_ar=""),
                name="ck_faq_entries_has_answer",
                violation_error_message=_("Write the answer in English, Arabic or both."),
            ),
            models.CheckConstraint(
                condition=~models.Q(keywords_en="", keywords_ar=""),
                name="ck_faq_entries_has_keywords",
                violation_error_message=_("Give at least one keyword."),
            ),
        ]

    def __str__(self) -> str:
        return self.question_en or self.question_ar

    @property
    def keywords(self) -> list[str]:
        """Every keyword and phrase, both languages."""
        raw = f"{self.keywords_en}\n{self.keywords_ar}".replace("،", ",").replace("\n", ",")
        return [word.strip() for word in raw.split(",") if word.strip()]

    def answer_in(self, language: str) -> str:
        """The answer in `language`, else in the other one."""
        first, second = (
            (self.answer_ar, self.answer_en)
            if language == "ar"
            else (
                self.answer_en,
                self.answer_ar,
            )
        )
        return first or second
