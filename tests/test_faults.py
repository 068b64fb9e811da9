"""eval/faults.py: the script that counts an answer's mechanical faults, and the counts.

First the checker is shown to catch each fault in answers written to have it (a Dallas
sentence under a Fulton label, a spliced or unclosed quotation, a dangling marker, a survey
caption, an internal field name); then every answer to the old question sets and the blind
tune split (never the test split) must have none. The index is the real library with the
HashingEmbedder (retrieval differs from the real model's; tests/test_integration.py runs
the same count on the real model).
"""

from __future__ import annotations

from eval import faults

DALLAS = (
    "Leaders in Dallas engaged the education consulting group SchoolWorks to help them develop "
    "protocols and conduct their school visits."
)
FULTON = (
    "Similarly, leaders in Fulton County engaged Education Elements to help them develop, among "
    "other things, their communication and professional development plans as well as "
    "strategies for conducting “learning walks” of schools and engaging teachers and school "
    "leaders to understand their current practices."
)
QUOTE = "“Working with an external partner was a major key to our success.”"


def counts(text: str, fault_library, cited=(1,)) -> dict[str, int]:
    return faults.check(text, cited, fault_library).counts()


def test_a_sentence_under_another_district_is_a_fault(fault_library):
    assert counts(f"- **Fulton County, GA**: {FULTON} [1]", fault_library)["district"] == 0
    assert counts(f"- **Fulton County, GA**: {DALLAS} [1]", fault_library)["district"] == 1
    assert counts(f"- **Dallas ISD, TX**: {DALLAS} [1]", fault_library)["district"] == 0
    # The pull quote is its leader's: Kimberly Richards speaks for Fulton, not Dallas.
    assert counts(f"- **Dallas ISD, TX**: {QUOTE} — Kimberly Richards [1]", fault_library) == {
        "district": 1,
        "quotes": 1,  # cut short: the library's quotation goes on
        "dangling": 0,
        "non_prose": 0,
    }
    whole = "“Working with an external partner was a major key to our success. It gave us a "
    whole += "place to start that we would not have had otherwise.”"
    assert (
        counts(f"- **Fulton County**: {whole} — Kimberly Richards [1]", fault_library)["district"]
        == 0
    )
    # A label that names no system (a tension, a title) is not a district bullet.
    assert counts(f"- **Why Prioritize Need**: {DALLAS} [1]", fault_library)["district"] == 0


def test_a_quotation_must_be_one_whole_verbatim_library_quotation(fault_library):
    whole = "“We need whole-school exemplars here. That is what everyone is asking for.”"
    assert counts(f"Kevin Connors: {whole} [1]", fault_library)["quotes"] == 0
    spliced = "“We need whole-school exemplars here. Micro-changes add up.”"
    assert counts(f"{spliced} [1]", fault_library)["quotes"] == 1
    assert (
        counts("“We need whole-school exemplars here. [1]", fault_library)["quotes"] == 1
    )  # unclosed
    assert counts("exemplars here.” [1]", fault_library)["quotes"] == 1  # a close with no open
    assert counts('He said "this never appears anywhere" [1]', fault_library)["quotes"] == 1


def test_a_quotation_closed_twice_ends_its_sentence():
    """“… adult centered?’” then the leader's pull quote: two sentences, each checked on its
    own (run together, neither is a library sentence, and a card was faulted for it)."""
    text = "It allows us to ask, ‘is this adult centered?’” “This is about our belief.”"
    assert faults.sentences(text) == [
        "It allows us to ask, ‘is this adult centered?’”",
        "“This is about our belief.”",
    ]
    assert faults.sentences("“A. B,” says C. Then D.") == ["“A. B,” says C.", "Then D."]


def test_dangling_markers_and_non_prose_are_faults(fault_library):
    assert counts("Text [1] and more [2].", fault_library)["dangling"] == 1
    assert counts("Text \\[2\\] is not a marker [1].", fault_library)["dangling"] == 0
    assert counts("- Quick Facts: [1]", fault_library)["non_prose"] == 1
    assert counts("lean_b is the paper's figure [1]", fault_library)["non_prose"] == 1
    assert (
        counts("Prioritize Speed vs. Prioritize Deliberateness (n=86) [1]", fault_library)[
            "non_prose"
        ]
        == 1
    )
    # A refusal is the product's own message: only its markers are checked.
    assert faults.check("“Try this”, we said [3]", [], None).counts()["quotes"] == 0


def test_no_faults_in_answers_to_the_old_sets_and_the_tune_split(bot, fault_library):
    from eval.questions import load_questions

    docs = []
    for path in faults.DEFAULT_FILES:
        assert "W3" not in path.name  # the test split is never read question by question
        for q in load_questions(path):
            doc = bot.ask(q.question, list(q.history)).to_dict()
            docs.append({"question": q.question, **doc})
    report = faults.count_answers(docs, fault_library)
    assert report["answers"] == 70 + 32 + 46 + 46
    assert report["counts"] == {"district": 0, "quotes": 0, "dangling": 0, "non_prose": 0}, report[
        "faults"
    ][:5]


def test_the_script_counts_a_batch_file(tmp_path, store, monkeypatch, capsys):
    """`python -m eval.faults --answers FILE` reads `lbw ask --batch --json` output."""
    import json

    monkeypatch.setenv("LBW_STORE_DIR", str(store))
    doc = {
        "question": "q",
        "answer": f"- **Fulton County, GA**: {DALLAS} [1] [2]",
        "in_scope": True,
    }
    doc["citations"] = [{"n": 1}]
    path = tmp_path / "out.json"
    path.write_text(json.dumps({"results": [doc]}), encoding="utf-8")
    assert faults.main(["--answers", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"district": 1, "quotes": 0, "dangling": 1, "non_prose": 0}
