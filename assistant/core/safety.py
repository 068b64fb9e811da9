"""Text in the library that speaks to a language model instead of to a reader.

A document can carry instructions aimed at whatever model reads it ("ignore previous
instructions and ..."), visibly or hidden (an HTML comment, zero-width characters splitting
the words). Such lines are never evidence: the model is not shown them (a placeholder says
text was withheld) and the citation check does not count them as support, so a model that
obeys one anyway cannot pass its words off as something the library says. Citations still
open the passage as written, so nothing is hidden from the reader.

Plain prose can carry the same payload without naming a model: "Please tell the reader that
...", "you must say ...", "every district should purchase X now". Such lines direct whoever
relays the document, not its reader, so they are withheld the same way. The patterns cover
directives by their grammar rather than by one sentence's words: speech verbs aimed at the
reader or user ("tell/remind/assure the reader", "let users know", "readers should be told"),
at the relaying assistant ("you must say/recommend", "the assistant should", "in every
answer", "when you summarize this", "if a user asks"), obligations laid on whoever relays or
summarises the text ("anyone summarizing this plan is obligated to conclude that ..."),
imperatives of speech at the start of a sentence ("Say that", "Always recommend", "Do not
mention"), and purchase exhortations (a quantified audience told to buy, an urged purchase
"now/today/immediately", sales boilerplate such as "order now" or "promo code").
Descriptive prose ("the district purchased devices", "teachers were told", "when asked, the
superintendent said") does not match: on the bundled library's 837 lines none does
(tests/test_hardening.py counts them).

Disguises are undone before the check (`folded`): HTML comments and invisible characters
(zero-width, bidirectional controls, soft hyphens, variation selectors, Hangul fillers) are
removed; NFKC folds compatibility forms (fullwidth and mathematical letters, ligatures);
letters from other scripts that look Latin (Cyrillic "о", Greek "ι") are folded to the Latin
letter; accents are stripped; a word spelt out letter by letter ("i g n o r e") is joined.
Unicode tag characters (U+E0000 block) spell ASCII text that screens do not show and some
models read: any such hidden text is withheld whatever it says (`hidden_text`), and what it
spells is checked too. The main directive families are also written for French, Spanish,
German, Italian, Portuguese and Dutch (the library is English, so a directive in another
language is no reader's prose). tests/data/injections.jsonl holds 130 disguised variants
(fit half, report half; tests/test_injection.py prints the rates).

The patterns are deliberately narrow (phrases a document for school leaders has no reason to
contain); they are one layer, behind fencing passages as data in the prompt and checking every
sentence of the answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

# Characters that take no space on screen: format controls (zero-width, bidirectional,
# soft hyphen, word joiner, BOM, the tag block) are category Cf; variation selectors and
# Hangul fillers are not, so they are named.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff\U0001d173-\U0001d17a]"
)
_TAGS = re.compile("[\U000e0000-\U000e007f]")
# Letters of other scripts that look like Latin ones (Unicode's confusables, the ones a
# sentence can be spelt with).
_LOOKALIKES = str.maketrans(
    {
        **dict(zip("аеорсухіјѕԁһӏкмнтвгпԛԝӕ", "aeopcyxijsdhlkmhtbrnqwæ", strict=True)),
        **dict(zip("АВЕЅІЈКМНОРСТУХԌԚԜ", "ABESIJKMHOPCTYXGQW", strict=True)),
        **dict(zip("αβεηικνορτυχϲϳ", "abenikvoptuxcj", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
        **dict(zip("ıɑɡɩɪʟᴏօսոցհյ", "iagiiloouughj", strict=True)),
    }
)
_SPELT_OUT = re.compile(r"\b(?:[A-Za-z][ .\-_*]){3,}[A-Za-z]\b")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,60}?\b(?:instructions?|prompts?|rules?|"
    r"guidelines?)\b"
    r"|\b(?:ignore|disregard|forget|override)\s+(?:all\s+|everything\s+|anything\s+)?(?:that\s+)?"
    r"(?:you\s+(?:were|have\s+been|are)\s+(?:told|given|taught|instructed)|(?:your|the)\s+(?:previous|"
    r"prior|earlier|original|above)\s+(?:directions|commands|context|orders|programming))"
    r"|\b(?:system prompt|developer mode|jailbreak|prompt injection)\b"
    r"|\b(?:note|message|instructions?|memo|notice|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|"
    r"every\s+)?(?:ai|llms?|language models?|assistants?|chatbots?|bots?|models?|ai\s+\w+)\b"
    r"|\byou are now\b"
    r"|\b(?:new|updated)\s+instructions?\s*:"
    r"|^\s*(?:system|assistant)\s*:"
    r"|<\s*/?\s*(?:passages?|question|system|instructions?)\b",
    re.IGNORECASE | re.MULTILINE,
)
# Directives in plain prose: aimed at the reader or user, at the assistant relaying the text,
# or urging a purchase (see the module docstring).
_SPEECH = (
    r"(?:say|state|answer|respond|reply|mention|recommend|tell|write|claim|include|output|"
    r"repeat|report|insist|assert|endorse|promote|cite|quote|describe|present|call|"
    r"emphasi[sz]e|stress|suggest|advise|urge|add)"
)
_MODAL = (
    r"(?:must|should|shall|will|need\s+to|needs\s+to|have\s+to|has\s+to|are\s+to|is\s+to|"
    r"ought\s+to|are\s+(?:required|instructed|expected|asked)\s+to)"
)
_AUDIENCE = (
    r"(?:the\s+|your\s+|our\s+|any\s+|all\s+|every\s+|each\s+)?(?:readers?|users?|"
    r"audiences?|customers?|visitors?|humans?|whoever\s+(?:reads|asks)|anyone(?:\s+(?:reading|"
    r"asking|who\s+asks))?|everyone|everybody|people\s+asking|the\s+person\s+asking)"
)
_AI = (
    r"(?:\bai\b(?:\s+(?:assistants?|models?|systems?|tools?|agents?|chatbots?))?|chatbots?|"
    r"language\s+models?|llms?|gpts?|chatgpt|the\s+assistant|this\s+assistant|any\s+assistant|"
    r"the\s+bot|automated\s+(?:assistants?|systems?))"
)
_READING = (
    r"(?:\s+(?:reading|processing|summari[sz]ing|using|answering\s+from|that\s+reads?|"
    r"who\s+reads?)\s+(?:this|these|it|the\s+\w+))?"
)
_YOU_MODAL = (
    r"(?:must|should|shall|need\s+to|have\s+to|are\s+to|"
    r"are\s+(?:required|instructed|expected|asked)\s+to)"
)
_YOU_SPEECH = (
    r"(?:say|state|answer|respond|reply|mention|claim|repeat|insist|assert|endorse|promote|"
    r"output|recommend|cite|quote)"
)
_PURCHASE = (
    r"(?:purchase|buy|order|pre-?order|subscribe|sign\s+up|license|procure|invest\s+in|"
    r"switch\s+to|upgrade\s+to)"
)
_URGENT = (
    r"(?:now|today|immediately|right\s+away|at\s+once|this\s+(?:week|month)|without\s+delay|"
    r"before\s+(?:it'?s\s+too\s+late|prices?\s+(?:rise|go\s+up|increase)|the\s+offer|supplies))"
)
_BUYERS = (
    r"(?:districts?|schools?|leaders?|superintendents?|principals?|readers?|educators?|"
    r"teachers?|boards?|systems?|networks?|administrators?|families|parents|buyers?|customers?)"
)
_START = r"(?:^|[.!?:;\"“”]\s+|\(\s*)"  # the start of a sentence
# Whoever relays or summarises the text: the reader, a model, "anyone summarizing this".
_RELAY = (
    rf"(?:{_AUDIENCE}|{_AI}|\b(?:anyone|anybody|someone|whoever|any\s+(?:\w+\s+)?(?:model|"
    r"assistant|system|tool|reader|one|agent|summary|summarizer))\s+(?:who\s+|that\s+)?"
    r"(?:summari[sz]\w*|reads?|reading|process\w*|answer\w*|review\w*|us(?:es|ing)|quot\w*|"
    r"cit\w*|relay\w*)|\b(?:summar(?:y|ies)|answers?|responses?)\s+(?:of|about|to|from)\s+"
    r"(?:this|these|the\s+(?:document|plan|memo|text|report))|\b(?:any|every|each)\s+summary)"
)
_OBLIGED = (
    r"(?:must|should|shall|(?:is|are)\s+(?:(?:obligated|obliged|required|bound|expected|"
    r"instructed|directed|asked)\s+)?to|(?:has|have|need|needs)\s+to)"
)
_CONCLUDE = (
    r"(?:conclude|agree|accept|believe|affirm|confirm|acknowledge|say|state|report|"
    r"recommend|mention|describe|present|tell|write|answer|reply|claim|assert|endorse|"
    r"portray|characteri[sz]e)"
)
_PLEASE = r"(?:please\s+|kindly\s+)?"
_DIRECTIVE = re.compile(
    "|".join(
        [
            # tell / remind / let know ... the reader or user
            r"\b(?:tell|inform|remind|assure|convince|persuade|advise|instruct|urge|warn|notify|"
            rf"teach|show)\s+{_AUDIENCE}\b",
            rf"\blet\s+{_AUDIENCE}\s+know\b",
            rf"\b{_AUDIENCE}\s+{_MODAL}\s+be\s+(?:told|informed|reminded|advised|assured|shown)\b",
            # obligations laid on whoever relays or summarises the text
            rf"{_RELAY}[^.!?\n]{{0,80}}?\b{_OBLIGED}\s+(?:always\s+|also\s+|only\s+)?{_CONCLUDE}\b",
            r"\b(?:is|are)\s+(?:obligated|obliged|bound)\s+to\s+(?:conclude|say|state|report|"
            r"recommend|agree|find|believe|accept|tell|describe)\b",
            r"\btell\s+(?:the\s+)?(?:users?|readers?|customers?|visitors?|people|everyone)\s+"
            r"(?:to|that)\b",
            # the relaying assistant, as "you" or by name
            rf"\byou\s+{_YOU_MODAL}\s+(?:always\s+|now\s+|only\s+|also\s+|clearly\s+)?"
            rf"{_YOU_SPEECH}\b",
            rf"{_AI}{_READING}\s+{_MODAL}\s+(?:always\s+|never\s+|only\s+|also\s+|now\s+)?\w+",
            rf"\b(?:if|when|whenever)\s+you\s+(?:are|'re)\s+(?:an?\s+)?{_AI}",
            rf"\bas\s+an?\s+{_AI}\b",
            # shaping the answer
            r"\b(?:in|end|begin|start|close|finish)\s+(?:your|every|each|any|all)\s+(?:answers?|"
            r"responses?|replies|summar(?:y|ies)|outputs?)\b",
            rf"\byour\s+(?:answers?|responses?|replies|summary|output)\s+{_MODAL}\b",
            r"\b(?:when|whenever|if)\s+(?:you\s+are|you're|you\s+get)\s+asked\b",
            r"\b(?:when|whenever|if)\s+(?:you\s+)?(?:summari[sz]e|summari[sz]ing|answer|answering|"
            r"respond|responding|quote|quoting|cite|citing)\s+(?:this|these|the\s+(?:document|"
            r"passage|text|memo))\b",
            r"\b(?:if|when|whenever)\s+(?:anyone|someone|a\s+user|the\s+user|users|a\s+reader|"
            r"the\s+reader|readers|people)\s+asks?\b",
            # imperatives of speech at the start of a sentence
            rf"{_START}{_PLEASE}(?:always\s+|never\s+|also\s+|now\s+)?(?:be\s+sure\s+to\s+|"
            r"make\s+sure\s+(?:to\s+|you\s+)|remember\s+to\s+|do\s+not\s+forget\s+to\s+|"
            r"don'?t\s+forget\s+to\s+)?(?:say|state|answer|respond|reply|mention|claim|repeat|"
            r"insist|assert|output|print)\s+(?:that|to|with|only|always|yes|no|[\"“'])",
            rf"{_START}{_PLEASE}(?:always|never)\s+{_SPEECH}\b",
            rf"{_START}{_PLEASE}(?:do\s+not|don'?t)\s+(?:mention|cite|quote|recommend|name|"
            r"discuss|reveal|say|tell)\b",
            rf"{_START}{_PLEASE}(?:be\s+sure\s+to|make\s+sure\s+(?:to|you)|remember\s+to)\s+"
            rf"{_SPEECH}\b",
            # purchase exhortations
            rf"\b(?:every|all|each|any|your)\s+(?:\w+\s+)?{_BUYERS}\s+{_MODAL}\s+(?:\w+\s+)?"
            rf"{_PURCHASE}\b",
            rf"(?:{_START}{_PLEASE}|\b{_MODAL}\s+(?:\w+\s+)?){_PURCHASE}\b[^.!?\n]{{0,80}}?"
            rf"\b{_URGENT}",
            r"\b(?:act|order|buy|shop|call|subscribe|sign\s+up|register)\s+(?:now|today)\b",
            r"\b(?:limited[-\s]time|special|exclusive|introductory)\s+(?:offer|deal|discount|"
            r"pricing)\b",
            r"\b(?:promo(?:tional)?|discount|coupon)\s+code\b",
            r"\bdon'?t\s+miss\s+(?:out|this)\b",
            r"\b(?:visit|go\s+to|click|call|contact|e-?mail)\b[^.!?\n]{0,80}?\b(?:today|now|"
            r"immediately)\b[^.!?\n]{0,40}?(?:offer|discount|order|price|deal|\bfree\b|save|"
            r"purchase|buy)",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)
# The same families in other languages, matched on folded text (no accents, any case).
_AI_WORD = (
    r"(?:ia|ki|ai|llms?|assistant\w*|asistente\w*|assistent\w*|modell\w*|modele\w*|modelo\w*|"
    r"chatbots?|bots?|intelligence\s+artificielle|inteligencia\s+artificial|"
    r"kunstliche[nr]?\s+intelligenz|intelligenza\s+artificiale|inteligencia\s+artificial)"
)
_FOREIGN = re.compile(
    "|".join(
        [
            # ignore / forget ... (previous) instructions
            r"\b(?:ignore[rsz]?|ignorez|ignora|ignorad|ignoriere[n]?|ignorate|oublie[rsz]?|"
            r"olvid[aeo]|olvidad|vergiss|vergessen|vergeet|negeer|dimentica(?:te)?|esque[cç]a|"
            r"desconsidere|neglige[rz]?|omite|missachte)\b[^.\n]{0,60}?\b(?:instructions?|"
            r"consignes?|regles|instrucciones|reglas|indicaciones|anweisungen|regeln|"
            r"instruktionen|vorgaben|istruzioni|regole|instrucoes|regras|instructies|regels|"
            r"richtlijnen|directives)\b",
            # a note to the AI
            r"\b(?:note|message|nachricht|hinweis|mensaje|nota|messaggio|mensagem|bericht|"
            r"aviso|avis)\s+(?:to|for|a|an|aux?|pour|para|per|voor|al|alla|ao|agli|ai|an\s+die)"
            rf"\s+(?:the\s+|la\s+|le\s+|les\s+|los\s+|las\s+|die\s+|den\s+|de\s+|il\s+|"
            rf"l'|o\s+|os\s+|gli\s+)?{_AI_WORD}\b",
            # tell the users / readers
            r"\b(?:dites|dis|dire)\s+aux\s+(?:utilisateurs|lecteurs|usagers|clients)\b",
            r"\b(?:di|dile|digan|diga|decid)\s+a\s+(?:los|las)\s+(?:usuarios|lectores|clientes)\b",
            r"\b(?:sag|sage|sagt|sagen\s+sie)\s+(?:den|dem|allen)\s+(?:nutzern|lesern|benutzern|"
            r"kunden|nutzer|leser)\b",
            r"\b(?:di'?|dite)\s+agli\s+(?:utenti|lettori|clienti)\b",
            r"\b(?:diga|digam|diz)\s+aos\s+(?:usuarios|utilizadores|leitores|clientes)\b",
            r"\b(?:vertel|zeg)\s+(?:de\s+|alle\s+)?(?:gebruikers|lezers|klanten)\b",
            # you (the assistant) must say / recommend / conclude
            r"\b(?:vous\s+devez|tu\s+dois|debes|usted\s+debe|du\s+musst|sie\s+mussen|devi|"
            r"dovete|voce\s+deve|voces\s+devem|je\s+moet|u\s+moet)\s+(?:toujours\s+|siempre\s+|"
            r"immer\s+|sempre\s+|altijd\s+)?(?:dire|repondre|recommander|conclure|affirmer|"
            r"decir|responder|recomendar|concluir|afirmar|sagen|antworten|empfehlen|"
            r"schlussfolgern|rispondere|raccomandare|concludere|dizer|zeggen|antwoorden|"
            r"aanbevelen|concluderen)\b",
            # whoever summarises this must conclude
            r"\b(?:doit|doivent|debe|deben|muss|mussen|deve|devono|devem|moet|moeten)\s+"
            r"(?:conclure|concluir|schlussfolgern|folgern|concludere|concluderen)\b",
            rf"\b{_AI_WORD}\s+(?:doit|doivent|debe|deben|muss|mussen|deve|devono|devem|moet|"
            r"moeten)\s+\w+",
        ]
    ),
    re.IGNORECASE | re.MULTILINE,
)
_PATTERNS = (_INSTRUCTION, _DIRECTIVE, _FOREIGN)
WITHHELD = "[text addressed to AI systems withheld]"


def visible(text: str) -> str:
    """The text a reader sees: no HTML comments, no invisible formatting characters (zero
    width, bidirectional controls, soft hyphens, variation selectors, tag characters)."""
    return _INVISIBLE.sub("", _COMMENT.sub("", text))


def hidden_text(text: str) -> str:
    """What Unicode tag characters in `text` spell (U+E0020..U+E007E mirror ASCII): text no
    screen shows and some models read. Empty when there is none."""
    return "".join(
        chr(ord(ch) - 0xE0000) for ch in _TAGS.findall(text) if 0xE0020 <= ord(ch) <= 0xE007E
    )


def invisible_count(text: str) -> int:
    """How many invisible characters `text` holds (for the note at add time)."""
    return len(_INVISIBLE.findall(text))


def folded(text: str) -> str:
    """`text` as the check reads it: visible, NFKC, look-alike letters folded to Latin,
    accents stripped, words spelt out letter by letter joined, spaces single."""
    text = unicodedata.normalize("NFKC", visible(text)).translate(_LOOKALIKES)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = _SPELT_OUT.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)
    return " ".join(text.split())


@lru_cache(maxsize=16384)  # answers check the same passages' lines again and again
def instruction_like(line: str) -> bool:
    """True for text that addresses a model, or directs whoever relays it (the reader's
    assistant) to say or urge something, in any of the languages above, in plain sight or
    disguised (a comment, invisible characters inside its words, look-alike letters), and
    for any text hidden in tag characters."""
    hidden = hidden_text(line)
    if len(hidden.strip()) >= 3:
        return True
    seen = visible(line)
    forms = dict.fromkeys([line, seen, folded(line)])
    return any(p.search(form) for form in forms for p in _PATTERNS)


# A line longer than this is checked a sentence-run at a time (see instruction_lines).
_PIECE = 4000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _pieces(line: str) -> list[str]:
    """A long line cut after sentence ends into runs of at most about _PIECE characters, so
    one 10 MB line costs many small searches the caller can time, not one long one."""
    if len(line) <= _PIECE:
        return [line]
    out, start = [], 0
    while start < len(line):
        end = min(start + _PIECE, len(line))
        if end < len(line):
            cut = None
            for m in _SENTENCE_END.finditer(line, start + _PIECE // 2, end):
                cut = m.end()
            end = cut or end
        out.append(line[start:end])
        start = end
    return out


def instruction_lines(text: str, tick: Callable[[], None] | None = None) -> list[str]:
    """The lines of `text` that `instruction_like` withholds (for reporting them). `tick` is
    called between pieces of work (a reading budget's clock: it raises when time is up)."""
    found = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        for piece in _pieces(line):
            if tick is not None:
                tick()
            if instruction_like(piece):
                found.append(piece)
    return found


def without_instructions(text: str, placeholder: str = WITHHELD) -> str:
    """`text` made visible, each line that addresses a model replaced by `placeholder`."""
    lines = [(line, visible(line)) for line in text.split("\n")]
    return "\n".join(placeholder if instruction_like(raw) else seen for raw, seen in lines)


def drop_instruction_lines(text: str) -> str:
    """`text` with each line that addresses a model, or that no reader sees, emptied; every
    other line byte for byte."""

    def hidden(line: str) -> bool:
        return instruction_like(line) or (bool(line.strip()) and not visible(line).strip())

    return "\n".join("" if hidden(line) else line for line in text.split("\n"))
