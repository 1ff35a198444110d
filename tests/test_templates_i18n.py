"""Every word a template shows is translatable: text outside `{% translate %}` / `{% blocktranslate %}`
in any template under templates/ would stay English on a Chinese page. Rule ids such as (R-SUP-3) and
case-number prefixes are codes, not words, and may stay."""

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATES = Path(settings.BASE_DIR) / "templates"
WORD = re.compile(r"[A-Za-z]{2,}")
CODES = re.compile(r"\bR-[A-Z]+-\d+\b|\b(?:RMA|WAR|PP|SUP|TKT)-")
SHOWN_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label"}
NOT_SHOWN_BLOCKS = {"bodyclass"}  # admin's <body class="…">
TRANSLATED_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}
MARK = " "  # where a template tag or variable stood: the words on either side are not joined


class ShownText(HTMLParser):
    """The text a reader sees or hears: text nodes outside script and style, the attributes above, and
    the value of buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.shown: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self.hidden_depth += 1
        self.shown += [value for name, value in attrs.items() if name in SHOWN_ATTRIBUTES and value]
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
            self.shown.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth:
            self.shown.append(data)


def untranslated_words(source: str) -> list[str]:
    parts, closing, block_stack = [], None, []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            if closing is None and name in TRANSLATED_BLOCKS:
                closing = TRANSLATED_BLOCKS[name]
            elif name == closing:
                closing = None
            elif name == "block":
                block_stack.append(token.contents.split()[1])
            elif name == "endblock" and block_stack:
                block_stack.pop()
            parts.append(MARK)
        elif token.token_type == TokenType.TEXT and closing is None and not set(block_stack) & NOT_SHOWN_BLOCKS:
            parts.append(token.contents)
        else:
            parts.append(MARK)
    parser = ShownText()
    parser.feed("".join(parts))
    return [word for text in parser.shown for word in WORD.findall(CODES.sub(" ", text))]


def test_no_template_shows_untranslated_words():
    found = {
        str(path.relative_to(TEMPLATES)): words
        for path in sorted([*TEMPLATES.rglob("*.html"), *TEMPLATES.rglob("*.txt")])
        if (words := untranslated_words(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_finds_what_it_should():
    page = '<p title="Hint">Hello {% translate "World" %}</p><input type="submit" value="Go"><b>{{ x }}</b>'
    assert untranslated_words(page) == ["Hint", "Hello", "Go"]
    fine = (
        '{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}<input type="hidden" value="start">'
        '<span class="rule">(R-SUP-3)</span><script>var x;</script>{% block bodyclass %}app-x{% endblock %}'
    )
    assert untranslated_words(fine) == []
