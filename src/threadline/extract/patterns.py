"""Indicator patterns: a small subset of regular-expression syntax that denotes a finite phrase list.

A lexicon ``pattern`` is never run as a regular expression on ad text. It is expanded, when the
lexicon loads, into the finite list of phrases it stands for, and those phrases are matched word by
word like any other phrase (see `threadline.extract.matcher`). No pattern can therefore backtrack,
however hostile the ad: matching costs the same per word whatever the lexicon says.

What a pattern may contain (everything else is refused with the reason, never skipped):

* letters, digits, spaces and punctuation, standing for themselves (punctuation and spaces separate
  words, exactly as in ad text: ``no-outcall`` is the two words ``no outcall``);
* ``(a|b|c)`` or ``(?:a|b|c)``: alternatives; groups nest at most four deep;
* ``[abc]``, ``[a-z0-9]``: one character out of a listed set (no ``[^...]``);
* ``x?``: an optional character or group;
* ``x{n}``, ``x{m,n}``, ``x{,n}``: a character or group repeated, at most four times.

Refused: ``*`` and ``+`` and ``{m,}`` (unbounded), ``.``, backslash escapes (``\\d``, ``\\b``,
backreferences ``\\1``), anchors ``^`` ``$``, lookaround and named groups ``(?=`` ``(?!`` ``(?<``
``(?P``, lazy or possessive repeats (``??``, ``{2}?``, ``?+``), and a pattern standing for more than
`MAX_EXPANSIONS` phrases (repeats inside repeated groups are allowed: the count is what matters).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_EXPANSIONS", "MAX_REPEAT", "PatternError", "expand"]

MAX_EXPANSIONS = 2000  # phrases one pattern may stand for
MAX_REPEAT = 4  # largest n in {m,n}
MAX_DEPTH = 4  # nesting of groups
MAX_CHARS = 400  # length of a pattern


class PatternError(ValueError):
    """A pattern outside the allowed syntax; the message says what and where (1-based column)."""


# The parsed form: a literal run, one of a set of characters, a sequence, alternatives, a repeat.
@dataclass(frozen=True, slots=True)
class _Lit:
    text: str


@dataclass(frozen=True, slots=True)
class _Class:
    chars: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    branches: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat:
    node: _Node
    low: int
    high: int


_Node = _Lit | _Class | _Seq | _Alt | _Repeat

_SPECIAL = frozenset("()[]{}|?*+.\\^$")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, message: str, at: int | None = None) -> PatternError:
        return PatternError(f"{message} (at character {(self.i if at is None else at) + 1})")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self) -> _Node:
        node = self.alternatives(0)
        if self.i < len(self.s):  # only an unmatched ")" stops a top-level sequence early
            raise self.fail("')' without a matching '('")
        return node

    def alternatives(self, depth: int) -> _Node:
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence(depth))
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def sequence(self, depth: int) -> _Node:
        items: list[_Node] = []
        while self.i < len(self.s) and self.s[self.i] not in "|)":
            atom = self.atom(depth)
            bounds = self.repeat()
            if bounds is not None:
                atom = _Repeat(atom, *bounds)
            if isinstance(atom, _Lit) and items and isinstance(items[-1], _Lit):
                items[-1] = _Lit(items[-1].text + atom.text)
            else:
                items.append(atom)
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def atom(self, depth: int) -> _Node:
        c = self.s[self.i]
        if c == "(":
            return self.group(depth)
        if c == "[":
            return self.char_class()
        if c in "*+":
            raise self.fail(f"'{c}' (unbounded repeat) is not allowed; use {{m,n}} with n <= {MAX_REPEAT}")
        if c in "?{":
            raise self.fail(f"'{c}' has nothing before it to repeat")
        if c == "\\":
            raise self.fail(
                "backslash escapes (\\d, \\w, \\b, backreferences like \\1) are not allowed; "
                "list characters in [ ] instead"
            )
        if c == ".":
            raise self.fail("'.' (any character) is not allowed; list the characters in [ ]")
        if c in "^$":
            raise self.fail(f"anchor '{c}' is not allowed: matches always cover whole words")
        if c in "]}":
            raise self.fail(f"'{c}' without a matching opening bracket")
        self.i += 1
        return _Lit(c)

    def group(self, depth: int) -> _Node:
        open_at = self.i
        if self.s.startswith("(?:", self.i):
            self.i += 3
        elif self.s.startswith("(?", self.i):
            rest = self.s[self.i + 2 : self.i + 4]
            if rest[:1] in ("=", "!") or rest in ("<=", "<!"):
                raise self.fail("lookahead and lookbehind are not allowed")
            if rest[:1] in ("P", "<"):
                raise self.fail("named groups and group references are not allowed")
            raise self.fail("only plain groups ( ) or (?: ) are allowed")
        else:
            self.i += 1
        if depth >= MAX_DEPTH:
            raise self.fail(f"groups nested deeper than {MAX_DEPTH}", open_at)
        inner = self.alternatives(depth + 1)
        if self.peek() != ")":
            raise self.fail("'(' is never closed", open_at)
        self.i += 1
        if inner == _Seq(()):
            raise self.fail("empty group", open_at)
        return inner

    def char_class(self) -> _Node:
        open_at = self.i
        self.i += 1
        if self.peek() == "^":
            raise self.fail("negated classes [^...] are not allowed; list the characters")
        chars: list[str] = []
        while True:
            c = self.peek()
            if not c:
                raise self.fail("'[' is never closed", open_at)
            if c == "]":
                self.i += 1
                break
            if c in "\\[":
                raise self.fail(f"'{c}' is not allowed inside [ ]")
            if self.s[self.i + 1 : self.i + 2] == "-" and self.s[self.i + 2 : self.i + 3] not in ("", "]"):
                hi = self.s[self.i + 2]
                if not (c.isascii() and hi.isascii() and c.isalnum() and hi.isalnum() and c <= hi):
                    raise self.fail(f"bad range '{c}-{hi}' (use a-z or 0-9 style ranges)")
                if c.isdigit() != hi.isdigit() or (c.isalpha() and c.islower() != hi.islower()):
                    raise self.fail(f"range '{c}-{hi}' mixes digits, lower and upper case")
                chars.extend(chr(x) for x in range(ord(c), ord(hi) + 1))
                self.i += 3
            else:
                chars.append(c)
                self.i += 1
        if not chars:
            raise self.fail("empty class [ ]", open_at)
        return _Class(tuple(dict.fromkeys(chars)))

    def repeat(self) -> tuple[int, int] | None:
        c = self.peek()
        if c == "?":
            self.i += 1
            bounds = (0, 1)
        elif c == "{":
            close = self.s.find("}", self.i)
            body = self.s[self.i + 1 : close] if close > 0 else ""
            low_s, comma, high_s = body.partition(",")
            if close < 0 or not (low_s.isdigit() or (comma and not low_s)):
                raise self.fail("malformed repeat; write {n} or {m,n}")
            if comma and not high_s:
                raise self.fail(f"unbounded repeat {{{body}}} is not allowed; give an upper bound")
            if comma and not high_s.isdigit():
                raise self.fail("malformed repeat; write {n} or {m,n}")
            low = int(low_s) if low_s else 0
            high = int(high_s) if comma else low
            if high > MAX_REPEAT or low > high:
                raise self.fail(f"repeat {{{body}}} must have 0 <= m <= n <= {MAX_REPEAT}")
            self.i = close + 1
            bounds = (low, high)
        else:
            return None
        if self.peek() in ("?", "+", "*", "{"):
            raise self.fail("a repeat may not be repeated or made lazy or possessive")
        return bounds


def _count(node: _Node) -> int:
    """How many strings the node stands for (with repeats), saturating just above the limit."""
    cap = MAX_EXPANSIONS + 1
    if isinstance(node, _Lit):
        return 1
    if isinstance(node, _Class):
        return len(node.chars)
    if isinstance(node, _Seq):
        total = 1
        for item in node.items:
            total = min(cap, total * _count(item))
        return total
    if isinstance(node, _Alt):
        return min(cap, sum(_count(b) for b in node.branches))
    one = _count(node.node)
    total, power = 0, 1  # power = one ** k
    for k in range(node.high + 1):
        if k >= node.low:
            total = min(cap, total + power)
        power = min(cap, power * one)
    return total


def _expand(node: _Node) -> list[str]:
    if isinstance(node, _Lit):
        return [node.text]
    if isinstance(node, _Class):
        return list(node.chars)
    if isinstance(node, _Seq):
        out = [""]
        for item in node.items:
            tails = _expand(item)
            out = [head + tail for head in out for tail in tails]
        return out
    if isinstance(node, _Alt):
        return [s for b in node.branches for s in _expand(b)]
    one = _expand(node.node)
    out = []
    for k in range(node.low, node.high + 1):
        run = [""]
        for _ in range(k):
            run = [head + tail for head in run for tail in one]
        out.extend(run)
    return out


def expand(pattern: str) -> list[str]:
    """The phrases ``pattern`` stands for, in order, without repeats.

    >>> expand("ask for (the )?manager")
    ['ask for manager', 'ask for the manager']
    >>> expand("girls?")
    ['girl', 'girls']

    Raises `PatternError` for anything outside the allowed syntax.
    """
    if len(pattern) > MAX_CHARS:
        raise PatternError(f"pattern is {len(pattern)} characters long; at most {MAX_CHARS}")
    node = _Parser(pattern).parse()
    count = _count(node)
    if count > MAX_EXPANSIONS:
        raise PatternError(
            f"pattern stands for more than {MAX_EXPANSIONS} phrases; split it into several entries"
        )
    return list(dict.fromkeys(_expand(node)))
