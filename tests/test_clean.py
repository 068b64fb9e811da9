from ingest.clean import clean_text, repair_lost_bytes, strip_boilerplate


def test_lost_byte_apostrophes_dashes_and_quotes_are_restored():
    r = repair_lost_bytes(
        "Those investments often donât relate. Data to teachersâbut not all. He said âwillâ twice."
    )
    assert (
        r.text
        == "Those investments often don’t relate. Data to teachers—but not all. He said “will” twice."
    )
    assert r.repaired == 4


def test_plural_possessive_is_an_apostrophe_unless_a_quote_is_open():
    assert repair_lost_bytes("the studentsâ growth").text == "the students’ growth"
    assert (
        repair_lost_bytes("a âbigâ change and the studentsâ work").text
        == "a “big” change and the students’ work"
    )


def test_text_without_mojibake_is_untouched_and_counts_zero():
    r = repair_lost_bytes("Plain text – with a real dash and “quotes”.")
    assert r.repaired == 0 and r.text == "Plain text – with a real dash and “quotes”."


def test_scaling_article_is_fully_repaired(corpus_dir):
    raw = (corpus_dir / "scaling-personalized-learning-pilots.txt").read_text(encoding="utf-8")
    cleaned = clean_text(raw)
    assert "â" not in cleaned.text
    assert cleaned.repaired_chars == raw.count("â")
    assert "don’t relate" in cleaned.text and "teachers—but" in cleaned.text
    assert "approach in which" in cleaned.text  # footnote digits glued between words


def test_comment_section_and_login_widgets_are_dropped(corpus_dir):
    raw = (corpus_dir / "scale-what.txt").read_text(encoding="utf-8")
    text, dropped = strip_boilerplate(raw)
    assert "Leave a Reply" not in text and "Log Out" not in text and "Connecting to" not in text
    assert "lone person on the island" not in text  # the reader comment is not the article
    assert text.rstrip().endswith("the students we aim to serve through it.")
    assert dropped >= 10


def test_image_credits_are_dropped(corpus_dir):
    cleaned = clean_text((corpus_dir / "roadmap-for-change-2019.txt").read_text(encoding="utf-8"))
    assert "Image: Bart Everson" not in cleaned.text
    assert cleaned.text.startswith("A roadmap for change")
