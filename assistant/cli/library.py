"""`lbw add`, `lbw remove`, `lbw edit`, `lbw docs`: the user library from the command line.

    lbw add PATH... [--title T] [--kind K] [--date D] [--json] [--quiet]
    lbw remove DOC_ID [--json]
    lbw edit DOC_ID [--title T] [--kind K] [--date D] [--json]
    lbw docs [--json]   {"documents": [{"id", "title", "kind", "file", "chunks", "added", ...}]}

Every change checks its input first and publishes the new index atomically (ingest.manage):
a refused file prints why on stderr, exits 4 and leaves the library and the index as they
were.
"""

from __future__ import annotations

from assistant.cli.common import add_output_args, print_json, settings_from


def _say_change(report) -> None:
    verb = report.action
    for doc in report.documents:
        count = f", {doc['chunks']} passages" if verb != "removed" else ""
        print(f"{verb.capitalize()} “{doc['title']}” as {doc['id']} ({doc['format']}{count}).")
    for note in report.notes:
        print(f"  note: {note}")
    ing = report.ingest
    state = f"published build {ing.build_id}" if ing.changed else "the index was up to date"
    print(
        f"{ing.documents} documents, {ing.chunks} passages: {ing.embedded} embedded, "
        f"{ing.reused} reused, {ing.sentences_embedded} sentences embedded; {state} ({ing.seconds:.1f} s)."
    )


def _report(args, report) -> None:
    if args.json:
        print_json(report.to_dict())
    else:
        _say_change(report)


def cmd_add(args) -> int:
    from ingest.manage import add_documents, read_source_file

    settings = settings_from(args)
    sources = [read_source_file(path, settings) for path in args.paths]
    report = add_documents(
        settings,
        sources,
        title=args.title,
        kind=args.kind,
        date=args.date,
        progress=not (args.quiet or args.json),
    )
    _write_questions(settings, report)
    _report(args, report)
    return 0


def _write_questions(settings, report) -> None:
    """Ask the configured model for the questions each new passage answers (the question
    index), and publish them; without a model, none (noted). The documents stay added
    whatever the model does."""
    if settings.llm in ("", "none") or settings.doc_questions <= 0:
        report.notes.append(
            "No questions were written for the question index (no language model is set: "
            "LBW_LLM); the document is found by its passages' own words."
        )
        return
    from assistant.core.errors import LbwError
    from assistant.llm.backends import chat_model
    from assistant.llm.questions import write_questions
    from assistant.storage.builds import open_live
    from ingest.pipeline import run_ingest
    from ingest.questions import save_model_questions

    try:
        model = chat_model(settings)
    except LbwError as exc:
        report.notes.append(f"No questions were written for the question index: {exc}")
        return
    chunks = open_live(settings).chunks
    written = 0
    for row in report.documents:
        mine = [c for c in chunks if c.doc_id == row["id"]]
        found = write_questions(model, mine, settings.doc_questions)
        save_model_questions(settings.store_dir, row["id"], mine, found)
        written += sum(len(q) for q in found.values())
    if written:
        run_ingest(settings, progress=False)  # embeds the new questions only
    report.notes.append(f"{written} questions written by {settings.llm} for the question index.")


def cmd_remove(args) -> int:
    from ingest.manage import remove_document

    report = remove_document(settings_from(args), args.doc_id)
    _report(args, report)
    return 0


def cmd_edit(args) -> int:
    from ingest.manage import edit_document

    report = edit_document(
        settings_from(args), args.doc_id, title=args.title, kind=args.kind, date=args.date
    )
    _report(args, report)
    return 0


def cmd_docs(args) -> int:
    from ingest.manage import list_documents

    rows = list_documents(settings_from(args))
    if args.json:
        print_json({"documents": rows})
        return 0
    for row in rows:
        chunks = "not indexed" if row["chunks"] is None else f"{row['chunks']} passages"
        added = f"added {row['added']}" if row["added"] else "bundled"
        print(f"{row['id']:<32} {row['title'][:60]}  [{row['kind']}; {chunks}; {added}]")
    return 0


def register(sub) -> None:
    """Add the library subcommands to `lbw`'s subparsers."""
    p = sub.add_parser(
        "add", help="add PDF, Word, HTML, Markdown or text files to the library and index them"
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--title", help="the document's title (one PATH only)")
    p.add_argument("--kind", help="what it is: plan, memo, article, ... (default: document)")
    p.add_argument("--date", help="its date, e.g. 2024-09")
    add_output_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove a document you added (and its passages)")
    p.add_argument("doc_id", metavar="DOC_ID")
    add_output_args(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("edit", help="change the title, kind or date of a document you added")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument("--title")
    p.add_argument("--kind")
    p.add_argument("--date")
    add_output_args(p)
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("docs", help="list the library's documents")
    add_output_args(p)
    p.set_defaults(func=cmd_docs)
