import datetime as dt

from messaging.bot.formatting import format_day, format_short_day, format_time, hijri_date

SUNDAY = dt.date(2026, 11, 29)


def test_day_in_english_and_arabic_without_hijri(settings):
    settings.SHOW_HIJRI_DATES = False
    assert format_day(SUNDAY, language="en") == "Sunday 29 November 2026"
    assert format_day(SUNDAY, language="ar") == "الأحد 29 نوفمبر 2026"


def test_hijri_date_beside_the_gregorian_one_when_the_setting_is_on(settings):
    settings.SHOW_HIJRI_DATES = True
    assert format_day(SUNDAY, language="en") == (
        "Sunday 29 November 2026 (19 Jumada al-Akhirah 1448 AH)"
    )
    assert format_day(SUNDAY, language="ar") == "الأحد 29 نوفمبر 2026 (19 جمادى الآخرة 1448 هـ)"


def test_ramadan_first_day():
    # 1 Ramadan 1447 AH (Umm al-Qura) is 18 February 2026.
    assert hijri_date(dt.date(2026, 2, 18), language="en") == "1 Ramadan 1447 AH"


def test_hijri_outside_the_calendar_range_is_left_out(settings):
    settings.SHOW_HIJRI_DATES = True
    assert hijri_date(dt.date(1800, 1, 1), language="en") is None
    assert format_day(dt.date(1800, 1, 1), language="en") == "Wednesday 1 January 1800"


def test_short_day_fits_a_list_row_title():
    for language in ("en", "ar"):
        for offset in range(366):
            assert (
                len(format_short_day(SUNDAY + dt.timedelta(days=offset), language=language)) <= 24
            )


def test_times_with_the_languages_markers():
    assert format_time(dt.time(17, 30), language="en") == "5:30 PM"
    assert format_time(dt.time(17, 30), language="ar") == "5:30 م"
    assert format_time(dt.time(9, 0), language="ar") == "9:00 ص"
