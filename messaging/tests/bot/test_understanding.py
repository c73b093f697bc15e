"""The understanding corpus: accuracy per kind of message, and never a wrong proposal."""

from messaging.bot.parsing import Intent, read_message
from messaging.bot.understanding.names import find_named
from messaging.tests.bot.corpus import NAMES, NOW, PEOPLE, SERVICES, load, score

OVERALL_FLOOR = 0.90
KIND_FLOOR = 0.80


def test_the_corpus_is_big_and_covers_every_dialect():
    examples = load()
    assert len(examples) >= 400
    assert {e.language for e in examples} >= {
        "en",
        "ar-gulf",
        "ar-egy",
        "ar-lev",
        "ar-msa",
        "mixed",
    }


def test_accuracy_per_kind_is_above_its_floor_with_no_wrong_proposal():
    report = score(lambda text: read_message(text, now=NOW, names=NAMES), load())
    print("\n" + report.table())
    for kind, failures in sorted(report.failures.items()):
        for example, wrong in failures:
            print(f"  {kind} {example.where} {example.text!r}: {'; '.join(wrong)}")
    assert report.wrong_proposals == []
    assert report.accuracy >= OVERALL_FLOOR
    for kind, total in report.total.items():
        assert report.right[kind] / total >= KIND_FLOOR, kind


def test_every_named_line_names_a_service_or_who():
    services = [(english, (english, arabic)) for english, arabic in SERVICES]
    people = [(english, (english, arabic)) for english, arabic in PEOPLE]
    for example in load():
        named = find_named(example.text, services) or find_named(example.text, people)
        if example.kind == "named":
            assert named, example.where


def test_a_name_is_found_by_its_longest_form_and_two_equal_matches_are_no_guess():
    people = [(1, ("Dr Sara", "د. سارة")), (2, ("Dr Sara Ali", "")), (3, ("Sara Omar", ""))]
    assert find_named("with dr sara ali tomorrow", people) == 2
    assert find_named("مع الدكتورة سارة", people[:2]) == 1
    nurse = (4, ("Nurse Sara", ""))
    assert find_named("with sara", [people[0], nurse]) is None  # which Sara? ask
    assert find_named("with nurse sara", [people[0], nurse]) == 4
    assert find_named("with Dr Nour", people) is None


def test_a_title_before_a_name_is_no_question_about_a_female_doctor():
    named = read_message("ابغى تنظيف مع الدكتورة سارة بكرة ٥", now=NOW, names=NAMES)
    assert named.intent is Intent.BOOK
    assert read_message("عندكم دكتورة؟", now=NOW, names=NAMES).intent is Intent.QUESTION
