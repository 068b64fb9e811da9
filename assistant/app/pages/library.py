"""The Library page: read every document, add your own, retitle or remove them, re-index.

Uploads go through exactly the checks of `lbw add` (ingest.manage.add_documents: name,
size limit, what the file expands to, format, text, duplicates), and every change publishes
a new index atomically, so a refused file or a failed change leaves the library as it was.
Changes run on a worker thread, off the page's; progress comes from the ingest's progress
callback. Text from documents and file names is shown with `st.text` or
escaped (messages too: they quote file names and titles), never rendered as HTML.
"""

from __future__ import annotations

import logging
import queue
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import streamlit as st

from assistant.app import view as ui
from assistant.core.errors import LbwError

log = logging.getLogger("lbw.app.library")
FLASH = "library_flash"
FAILED = "The change could not be made; it has been logged and the library is as it was."
# Library changes run here, off the pages' threads (one writer at a time holds the ingest lock).
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lbw-library")


def library_page(bot) -> None:
    """The whole page, for an `Assistant` (its settings say where the library lives)."""
    st.header("Library")
    st.caption(
        "The documents every answer is drawn from, as the assistant reads them. Add your "
        "own plans, memos and articles: they are cited the same way."
    )
    show_flash()
    add_section(bot)
    focus = st.session_state.pop("library_doc", None)
    # Passage counts from the index already in memory (no build files read on a rerun).
    counts = Counter(chunk.doc_id for chunk in bot.chunks().values())
    for doc in bot.documents():
        st.subheader(ui.escape_markdown(doc["title"]))
        if byline := ui.document_byline(doc):
            st.caption(ui.escape_markdown(byline))
        if status := document_status(doc, counts.get(doc["id"])):
            st.caption(ui.escape_markdown(status))
        with st.expander("Read the text", expanded=doc["id"] == focus):
            try:
                st.text(bot.document_text(doc["id"]))
            except Exception:
                log.exception("Could not read document %r", doc["id"])
                st.error("This document's text could not be read; the error has been logged.")
        if doc.get("origin") == "user":
            manage_section(bot, doc)
    reindex_section(bot)


def document_status(doc: dict[str, Any], chunks: int | None) -> str:
    """'12 passages · PDF · added 2024-05-01 from plan.pdf', or 'bundled' parts."""
    parts = []
    if chunks is not None:
        parts.append(f"{chunks} passages")
    if doc.get("origin") == "user":
        parts.append(str(doc.get("format") or "").upper() or "document")
        added = str(doc.get("added") or "")[:10]
        source = doc.get("source_name")
        parts.append(f"added {added}" + (f" from {source}" if source else ""))
        parts.append(f"id {doc['id']}")
    return " · ".join(p for p in parts if p)


def show_flash() -> None:
    """The outcome of the change made on the previous run (the page reloads after one)."""
    if flash := st.session_state.pop(FLASH, None):
        kind, message = flash
        (st.success if kind == "success" else st.warning)(ui.escape_markdown(message))


def run_change(label: str, change: Callable[[Callable[[float, str], None]], str]) -> None:
    """Run one library change with a progress bar; on success reload the page to show it.

    The change (reading uploads, embedding, publishing) runs on a worker thread, off the
    page's own: the page only draws the progress the worker reports, so reading a file never
    holds the page's thread, and each file's reading stays within its limits
    (ingest.formats.limits) whatever the page does.
    """
    bar = st.progress(0.0, text=label)
    updates: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
    future = _WORKERS.submit(change, lambda fraction, message: updates.put((fraction, message)))
    while not (future.done() and updates.empty()):
        try:
            fraction, message = updates.get(timeout=0.1)
        except queue.Empty:
            continue
        bar.progress(fraction, text=ui.escape_markdown(message))  # it may name a file
    try:
        message = future.result()
    except LbwError as exc:
        bar.empty()
        st.error(ui.escape_markdown(str(exc)))  # it quotes file names and titles
        return
    except Exception:
        log.exception("Library change failed: %s", label)
        bar.empty()
        st.error(FAILED)
        return
    st.session_state[FLASH] = ("success", message)
    st.rerun()


def add_section(bot) -> None:
    with (
        st.expander("Add documents"),
        st.form("add-documents", clear_on_submit=True, border=False),
    ):
        files = st.file_uploader(
            "PDF, Word (.docx), HTML, Markdown or plain-text files",
            accept_multiple_files=True,
            key="upload",
            help=f"Up to {bot.settings.max_file_mb:g} MB each. Scanned PDFs need OCR first.",
        )
        title = st.text_input("Title (optional; for a single file)", key="upload_title")
        kind = st.text_input("Kind (optional: plan, memo, article…)", key="upload_kind")
        submitted = st.form_submit_button("Add to the library")
    if submitted:
        if not files:
            st.warning("Choose one or more files first.")
            return
        add_uploads(bot, [(f.name, f.getvalue()) for f in files], title, kind)


def add_uploads(bot, uploads: list[tuple[str, bytes]], title: str = "", kind: str = "") -> None:
    from ingest.manage import Source, add_documents

    def change(on_progress) -> str:
        report = add_documents(
            bot.settings,
            [Source(name, data) for name, data in uploads],
            title=title.strip() or None,
            kind=kind.strip() or None,
            embedder=getattr(bot, "embedder", None),
            on_progress=on_progress,
        )
        added = "; ".join(f"“{d['title']}” ({d['chunks']} passages)" for d in report.documents)
        notes = "".join(f" Note: {n}." for n in report.notes)
        return f"Added {added}.{notes}"

    run_change("Adding…", change)


def manage_section(bot, doc: dict[str, Any]) -> None:
    doc_id = doc["id"]
    with st.expander("Edit or remove"):
        title = st.text_input("Title", value=doc["title"], key=f"title-{doc_id}")
        kind = st.text_input("Kind", value=doc.get("kind") or "", key=f"kind-{doc_id}")
        date = st.text_input("Date", value=doc.get("date") or "", key=f"date-{doc_id}")
        if st.button("Save", key=f"save-{doc_id}"):
            edit(bot, doc, title, kind, date)
        confirm = st.checkbox("Yes, remove this document", key=f"confirm-{doc_id}")
        if st.button("Remove from the library", key=f"remove-{doc_id}", disabled=not confirm):
            remove(bot, doc_id)


def edit(bot, doc: dict[str, Any], title: str, kind: str, date: str) -> None:
    from ingest.manage import edit_document

    changes = {
        key: value.strip() or None
        for key, value in (("title", title), ("kind", kind), ("date", date))
        if value.strip() != (doc.get(key) or "")
    }
    if not changes:
        st.info("Nothing changed.")
        return

    def change(on_progress) -> str:
        edit_document(
            bot.settings,
            doc["id"],
            embedder=getattr(bot, "embedder", None),
            on_progress=on_progress,
            **changes,
        )
        return f"Saved the changes to “{changes.get('title') or doc['title']}”."

    run_change("Saving…", change)


def remove(bot, doc_id: str) -> None:
    from ingest.manage import remove_document

    def change(on_progress) -> str:
        report = remove_document(bot.settings, doc_id, on_progress=on_progress)
        return f"Removed “{report.documents[0]['title']}” and its passages."

    run_change("Removing…", change)


def reindex_section(bot) -> None:
    st.divider()
    st.caption(
        "Re-index reads the library again and embeds only what is new or changed; "
        "answers keep coming from the current index until the new one is complete."
    )
    if st.button("Re-index the library", key="reindex"):
        from ingest.pipeline import run_ingest

        def change(on_progress) -> str:
            report = run_ingest(
                bot.settings,
                embedder=getattr(bot, "embedder", None),
                progress=False,
                on_progress=on_progress,
            )
            if not report.changed:
                return "The index is up to date: nothing new to embed."
            return (
                f"Re-indexed {report.documents} documents: {report.embedded} passages "
                f"embedded, {report.reused} reused."
            )

        run_change("Re-indexing…", change)
