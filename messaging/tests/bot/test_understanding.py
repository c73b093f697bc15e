"""The understanding corpus: accuracy per kind of message, and never a wrong proposal."""

from messaging.bot.parsing import read_message
from messaging.tests.bot.corpus import NOW, load, score

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
    report = score(lambda text: read_message(text, now=NOW), load())
    print("\n" + report.table())
    for kind, failures in sorted(report.failures.items()):
        for example, wrong in failures:
            print(f"  {kind} {example.where} {example.text!r}: {'; '.join(wrong)}")
    assert report.wrong_proposals == []
    assert report.accuracy >= OVERALL_FLOOR
    for kind, total in report.total.items():
        assert report.right[kind] / total >= KIND_FLOOR, kind
