"""The app in a real browser: Streamlit on 127.0.0.1 driven by Debian's Chromium (Playwright).

Run by `make test` (which installs Chromium when it is missing and sets LBW_REQUIRE_BROWSER).
Without Chromium or the playwright package these tests skip with the reason when run by hand,
and fail under `make test` or when CI is set.
The index is built once (real model) in a temporary store; the app runs on it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from assistant.core.settings import Settings
from tests.servers import free_port, stop, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("LBW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 90_000  # an answer on a busy 2-core machine, or an upload with its re-index
APP_LOG: list[Path] = []  # the running app's output, printed when a test fails


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def _required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("LBW_REQUIRE_BROWSER"))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, corpus_dir, real_store):
    reason = _missing()
    if reason:
        if _required():
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(real_store, root / "store")  # the upload test adds a document
    settings = Settings(corpus_dir=corpus_dir, store_dir=root / "store")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LBW_")}
    env.update(
        PYTHONPATH=str(ROOT),
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        LBW_STORE_DIR=str(settings.store_dir),
        LBW_CORPUS_DIR=str(corpus_dir),
    )
    APP_LOG.append(root / "streamlit.log")
    log = APP_LOG[-1].open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200,
            60,
            "streamlit",
            proc,
        )
        yield url
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


LOCAL = re.compile(r"^(?:https?|wss?)://127\.0\.0\.1(?::\d+)?/|^(?:data|blob|about):")


@pytest.fixture
def page(browser, request):
    """A fresh browser context whose every request is recorded: the app works offline, so
    nothing may leave 127.0.0.1 (a page icon once came from fonts.gstatic.com)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        _report_failure(page)
    context.close()
    outside = sorted({url for url in requests if not LOCAL.match(url)})
    assert requests and not outside, f"requests beyond 127.0.0.1: {outside[:10]}"


def _report_failure(page) -> None:
    """Print what the page showed and the app's last output: a CI log is all we get back."""
    try:
        shown = page.locator("body").inner_text(timeout=5_000)
    except Exception as exc:  # noqa: BLE001 - a report must not mask the test's own failure
        shown = f"(page text unavailable: {exc})"
    print("---- the page showed ----\n" + shown[:4000])
    if APP_LOG:
        print("---- the app's log (tail) ----")
        print(APP_LOG[-1].read_text(encoding="utf-8", errors="replace")[-4000:])


def _open(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Look Both Ways Assistant").first.wait_for()


def _ask(page, question: str, answers_before: int) -> object:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    # user + assistant per turn; the answer is done when its citations are drawn
    expect_count = 2 * (answers_before + 1)
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=stChatMessage]').length >= n",
        arg=expect_count,
    )
    answer = messages.nth(expect_count - 1)
    answer.get_by_test_id("stExpander").first.wait_for()
    _settled(page)
    return answer


def _settled(page, quiet_ms: int = 1000) -> None:
    """Wait for the script run to end: Streamlit's running indicator and stale elements gone
    and staying gone for `quiet_ms` (the indicator only appears a moment after a run starts)."""
    page.evaluate("() => { window.__lbwQuietSince = null; }")
    page.wait_for_function(
        """quietMs => {
            const busy = document.querySelector('[data-testid=stStatusWidget]')
                || document.querySelector('[data-stale=true]');
            if (busy) { window.__lbwQuietSince = null; return false; }
            window.__lbwQuietSince = window.__lbwQuietSince || Date.now();
            return Date.now() - window.__lbwQuietSince >= quietMs;
        }""",
        arg=quiet_ms,
        polling=100,
    )


def test_ask_open_a_citation_follow_up_and_keep_conversations_apart(
    page, browser, app_url, tmp_path
):
    _open(page, app_url)
    answer = _ask(page, "How fast should a district move from pilot to scale?", 0)
    text = answer.inner_text()
    assert re.search(r"\[\d+\]", text)
    # LBW_UPDATE_SCREENSHOT=1 refreshes the README's picture; otherwise it stays in tmp.
    update = os.environ.get("LBW_UPDATE_SCREENSHOT")
    shot = ROOT / "docs" / "screenshot-chat.png" if update else tmp_path / "chat.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000

    # Open the first citation (the expanders after "More from the library"): its passage is
    # shown verbatim, as text.
    first = page.locator("summary", has_text="[1] ")
    citation = answer.get_by_test_id("stExpander").filter(has=first).first
    citation.locator("summary").click()
    passage = citation.get_by_test_id("stText").first
    passage.wait_for()
    assert len(passage.inner_text().strip()) > 40

    # A follow-up in the same conversation is answered under the first.
    follow = _ask(page, "What did Fulton County do?", 1)
    assert re.search(r"\[\d+\]", follow.inner_text())
    assert page.get_by_test_id("stChatMessage").count() == 4

    # Another browser (a second principal) starts with an empty conversation.
    other = browser.new_context().new_page()
    other.set_default_timeout(TIMEOUT_MS)
    _open(other, app_url)
    other.get_by_text("Not sure where to start?").wait_for()
    assert other.get_by_test_id("stChatMessage").count() == 0
    other.context.close()
    assert page.get_by_test_id("stChatMessage").count() == 4

    # "Read the whole document" opens the Library on the cited document.
    # (Reruns may collapse the expander the follow-up left behind; open it again if so. On a
    # loaded machine a click that lands while Streamlit redraws the page can be dropped, as
    # a person's would be: the test waits for the page to settle and clicks once more.)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    read = citation.get_by_role("button", name="Read the whole document")
    for attempt in range(3):
        _settled(page)
        if not read.is_visible():
            citation.locator("summary").first.click()
        read.click()
        try:
            page.wait_for_url(
                re.compile(r"/library"), timeout=30_000 if attempt < 2 else TIMEOUT_MS
            )
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    page.get_by_role("heading", name="Library").wait_for()


def test_upload_a_document_ask_about_it_and_html_stays_text(page, app_url, tmp_path):
    doc = tmp_path / "riverbend-transport-plan.txt"
    doc.write_text(
        "Riverbend transport plan\n\n"
        "The Riverbend district will move its bus depot to Elm Street in March, ~~so that~~ "
        ":red[drivers] start closer :material/warning: to the northern schools.\n\n"
        "<script>window.__lbwInjected = 1</script> <b>not bold</b> **not strong**\n",
        encoding="utf-8",
    )
    page.goto(app_url + "/library")
    page.get_by_role("heading", name="Library").wait_for()
    page.get_by_text("Add documents").click()
    page.locator("input[type=file]").set_input_files(str(doc))
    # the uploader shows the name shortened ("riverbe...t-plan.txt")
    page.get_by_test_id("stFileUploader").get_by_text("riverbe", exact=False).wait_for()
    page.get_by_role("button", name="Add to the library").click()
    page.get_by_test_id("stAlert").filter(has_text="Added").wait_for()
    # The notice is drawn first on the page's reload; the list under it may still be coming.
    _settled(page)

    # The document's text is shown literally: the tag is visible text, not a script.
    text = page.get_by_test_id("stExpander").filter(has_text="The Riverbend district will move")
    text.locator("summary").click()
    literal = text.get_by_text("<script>window.__lbwInjected = 1</script>", exact=False)
    literal.first.wait_for()
    assert page.evaluate("() => window.__lbwInjected") is None
    assert page.locator("b", has_text="not bold").count() == 0

    # Ask about it: the answer cites the new document.
    page.goto(app_url)
    answer = _ask(page, "Where will the Riverbend bus depot move?", 0)
    shown = answer.inner_text()
    assert "Elm Street" in shown
    # The document's own markup stays characters: no strikethrough, colour or icon.
    assert "~~so that~~" in shown and ":red[drivers]" in shown and "material" in shown
    written = answer.get_by_test_id("stMarkdownContainer")
    assert written.locator("del, s, span[role=img], img").count() == 0
    labels = " ".join(answer.get_by_test_id("stExpander").all_inner_texts())
    assert "Riverbend" in labels
    assert page.evaluate("() => window.__lbwInjected") is None


def test_chromium_is_found_when_required():
    """Under `make test` or CI the browser tests must run, never skip."""
    if not _required():
        pytest.skip("only checked under make test or CI")
    assert _missing() is None, _missing()
    assert shutil.which("chromium") or Path(CHROMIUM).exists()


def test_browse_examples_search_and_open_a_story(page, app_url):
    page.goto(app_url + "/examples")
    page.get_by_role("heading", name="District examples").wait_for()
    page.get_by_text("39 of 39 examples").wait_for()
    # The text box, not the table toolbar's "Search" button (same label, shown on hover).
    search = page.get_by_role("textbox", name="Search")
    search.fill("How will their instruction change")
    search.press("Enter")
    page.get_by_text("1 of 39 examples").wait_for()
    _settled(page)
    # The table is a canvas grid: pick the first row by its row marker.
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    page.get_by_role(
        "heading", name="Using a Readiness Assessment to Efficiently Structure Roll-Out"
    ).wait_for()
    # The heading is drawn before the parts under it, and Streamlit's running indicator
    # may not be up yet: wait for each part itself.
    texts = page.get_by_test_id("stText")
    texts.filter(has_text="Each school started with a question").first.wait_for()  # the quote
    texts.filter(has_text="readiness assessment").first.wait_for()  # the story
    source = page.get_by_test_id("stExpander").filter(has_text="Source passage:").first
    source_text = source.get_by_test_id("stText").first
    source_text.wait_for()
    assert "readiness assessment" in source_text.inner_text()
