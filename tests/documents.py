"""Documents the tests make themselves: PDF (reportlab), Word (python-docx), HTML, Markdown.

Each carries a fact found nowhere else in the library, so a test can ask about it and check
that the answer cites that document (and, for the PDF, the page the fact is printed on).
"""

from __future__ import annotations

import io

PDF_FACT = (
    "Marlowe Valley will open a Quillfeather reading lab in every middle school by March 2027."
)
PDF_QUESTION = "When will Marlowe Valley open the Quillfeather reading labs?"
DOCX_FACT = (
    "Harbor Point schools will run the Tidewater late bus at 5:15 pm so that students "
    "can stay for tutoring."
)
DOCX_QUESTION = "What time does the Tidewater late bus run in Harbor Point?"
HTML_FACT = (
    "In the Ridgeline family survey, 83 percent of families said the Lanternfish homework "
    "hotline helped their children finish assignments."
)
HTML_QUESTION = "What did Ridgeline families say about the Lanternfish homework hotline?"
SCRIPT_MARKER = "ZEBRAFISH_SCRIPT_PAYLOAD"
MD_FACT = (
    "The Oakhaven leadership team meets every second Tuesday to review the Brightwater pilot data."
)


def make_pdf(
    pages: list[list[tuple[str, str]]],
    title: str | None = None,
    outline: bool = False,
    footer: str | None = None,
) -> bytes:
    """A PDF whose pages hold ("h1" | "h2" | "p", text) items, wrapped as a word processor
    would: headings in larger bold type, paragraphs separated by a blank line."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    if title:
        c.setTitle(title)
    c.setAuthor("Test district")
    sizes = {"h1": ("Helvetica-Bold", 18), "h2": ("Helvetica-Bold", 14), "p": ("Helvetica", 11)}
    for number, items in enumerate(pages, start=1):
        y = 720.0
        for style, text in items:
            font, size = sizes[style]
            c.setFont(font, size)
            if style != "p" and outline:
                key = f"{number}-{text}"
                c.bookmarkPage(key, fit="XYZ", top=y + size)
                c.addOutlineEntry(text, key, level=0 if style == "h1" else 1)
            for line in simpleSplit(text, font, size, 460):
                c.drawString(72, y, line)
                y -= size * 1.3
            y -= size * 1.0  # space after a paragraph or heading
        if footer:
            c.setFont("Helvetica", 9)
            c.drawString(72, 40, f"{footer} {number}")
        c.showPage()
    c.save()
    return buf.getvalue()


def fact_pdf() -> bytes:
    """Three pages; the fact is on page 2 under "Literacy"; a running footer on each page."""
    filler = (
        "The plan was written with principals, teachers and families over the spring, "
        "and it will be reviewed by the board each year. "
    )
    return make_pdf(
        [
            [
                ("h1", "Marlowe Valley Strategic Plan"),
                ("p", "This plan sets out the district's priorities for the next three years."),
                ("h2", "Overview"),
                ("p", filler * 3),
            ],
            [
                ("h2", "Literacy"),
                ("p", PDF_FACT + " Each lab will have a full-time reading specialist."),
                ("p", "Reading coaches will meet with teachers every month."),
            ],
            [
                ("h2", "Budget"),
                ("p", "Spending on the labs comes from the district's general fund."),
            ],
        ],
        title="Marlowe Valley Strategic Plan 2025-2028",
        footer="Marlowe Valley Strategic Plan - page",
    )


def scanned_pdf() -> bytes:
    """A page holding only a picture of text: no text layer, as a scanner makes it."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    image = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(image).text((20, 80), "A scanned board memo", fill=0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.drawInlineImage(image, 72, 500, 450, 150)
    c.showPage()
    c.save()
    return buf.getvalue()


def encrypted_pdf(password: str = "district-secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(fact_pdf())))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def fact_docx() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "Harbor Point transport memo"
    document.core_properties.author = "Transport office"
    document.add_heading("Late buses", level=1)
    document.add_paragraph(DOCX_FACT)
    document.add_paragraph("Drivers will be paid for the extra hour from the transport budget.")
    document.add_heading("Riders by route", level=2)
    table = document.add_table(rows=4, cols=2)
    for row, (route, riders) in enumerate(
        [("Route", "Riders"), ("North loop", "120"), ("South loop", "95"), ("Harbor", "40")]
    ):
        table.cell(row, 0).text = route
        table.cell(row, 1).text = riders
    document.add_paragraph("Routes will be reviewed after the first term.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def fact_html() -> bytes:
    return f"""<!doctype html>
<html><head><title>Ridgeline family survey results</title>
<meta name="date" content="2024-05-02">
<meta name="author" content="Ridgeline research office">
<script>document.title = "{SCRIPT_MARKER}"; fetch("http://127.0.0.1:9/steal");</script>
<style>p {{ color: red }}</style></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article>
<h1>Ridgeline family survey results</h1>
<p>Ridgeline asked every family about homework support this spring.</p>
<h2>Findings</h2>
<p>{HTML_FACT}</p>
<p>Families also asked for the hotline to stay open on Sunday evenings.</p>
<script>alert("{SCRIPT_MARKER}")</script>
<img src="x" onerror="alert('{SCRIPT_MARKER}')">
</article>
<footer>Copyright Ridgeline Schools</footer></body></html>""".encode()


def fact_markdown() -> bytes:
    return f"""# Oakhaven leadership notes

## Meetings

{MD_FACT}

## Pilot measures

| Measure | Target |
|---|---|
| Attendance | 95% |
| Reading growth | 1.2 years |
""".encode()
