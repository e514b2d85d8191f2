"""Turns one planned post into an ad record (input contract) and its truth record.

Writing happens in two steps so that a post cross-posted to several sites reads the same on each:
`compose` writes the site-independent content (title, sentences, contact lines) from the writer's
`Voice`; `render` lays it out the way one site shows ads (HTML or plain text, structured fields,
the site's footer with its customer-service number) and records what was really printed.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .obfuscate import OBFUSCATED_STYLES, WRITTEN_STYLES, has_adjacent_repeat, render_phone
from .phones import HUB_NUMBERS, Phone
from .population import Network, Post, Voice
from .vocab import (
    ADJECTIVES,
    AREAS,
    CITIES,
    HANDLE_PLATFORMS,
    HTML_NOISE,
    INDICATOR_PHRASES,
    MONTHS,
    PLAIN_ADJECTIVES,
    PLAIN_UPDATE_LINES,
    SCRIPT_NOISE,
    TITLE_MOVEMENT_MARKERS,
    UPDATE_LINES,
    WEEKDAYS,
)

__all__ = ["SOURCES", "Content", "Source", "compose", "edit", "render"]


@dataclass(frozen=True, slots=True)
class Source:
    """A fictional ad site: how it lays ads out and what boilerplate it adds to every one."""

    name: str
    domain: str  # under the reserved .example TLD
    country: str
    html: bool  # body is HTML with <br> line breaks
    fields: tuple[str, ...]  # structured fields the site shows besides title and body
    footer: str | None  # boilerplate appended to the body; "{hub}" is its support number
    footer_rate: float  # older ads predate the footer
    id_prefix: str
    id_multiplier: int  # ids look random but are unique: counter * multiplier mod 9e7


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "nightpages",
            "nightpages.example",
            "US",
            html=True,
            fields=("age",),
            footer="<hr><small>Nightpages customer service: {hub} (9am-5pm). All advertisers are 18+ and "
            "agree to our terms of use.</small>",
            footer_rate=0.92,
            id_prefix="",
            id_multiplier=2654435761,
        ),
        Source(
            "lanternlist",
            "lanternlist.example",
            "US",
            html=False,
            fields=("phone", "age", "name", "ethnicity", "rate"),
            footer="---\nQuestions about your listing? Call customer care at {hub}. By using this site you "
            "agree that all persons depicted are adults.",
            footer_rate=0.88,
            id_prefix="LL-",
            id_multiplier=40503,
        ),
        Source(
            "velvetboard",
            "velvetboard.example",
            "US",
            html=False,
            fields=(),
            footer="Posted via VelvetBoard. We do not verify ads.",
            footer_rate=0.5,
            id_prefix="vb",
            id_multiplier=69069,
        ),
        Source(
            "larkboard",
            "larkboard.example",
            "GB",
            html=False,
            fields=("phone", "age", "nationality"),
            footer="Larkboard: all advertisers confirm they are over 18.",
            footer_rate=0.8,
            id_prefix="",
            id_multiplier=1103515245,
        ),
    )
}


def _hub_text(phone: Phone) -> str:
    """A support number exactly as the site prints it, the same on every ad."""
    a, b, c = phone.national[:3], phone.national[3:6], phone.national[6:]
    return f"1-{a}-{b}-{c}" if a.startswith("8") else f"({a}) {b}-{c}"


_FOOTERS: dict[str, str] = {
    name: source.footer.format(hub=_hub_text(HUB_NUMBERS[name])) if name in HUB_NUMBERS else source.footer
    for name, source in SOURCES.items()
    if source.footer is not None
}

_OTHER_CITIES = tuple(c for c in CITIES if c.country == "US")


@dataclass(slots=True)
class Content:
    """What the writer wrote for one post, before any site lays it out."""

    title: str
    title_without_phone: str  # for sites where the number goes only in the phone field
    lines: list[str]
    contact_lines: list[str]
    title_phone: tuple[Phone, str] | None  # (phone, style) when the number is in the title too
    body_phones: list[tuple[Phone, str]]
    emails: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    ages: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)


def _style(voice: Voice, phone: Phone, rng: random.Random) -> str:
    if voice.styles and rng.random() < voice.obfuscate_rate:
        style = rng.choice(voice.styles)
    elif rng.random() < 0.05:  # anyone hides a number now and then
        style = rng.choice(OBFUSCATED_STYLES + WRITTEN_STYLES)
    else:
        style = "plain"
    if style == "double" and not has_adjacent_repeat(phone.national, phone.country):
        style = "words_en"
    if style in ("filler", "symbols") and voice.plain:  # their emoji include the rose, a lexicon sign
        style = "separators"
    return style


def _date_text(ts: int, rng: random.Random) -> str:
    t = time.gmtime(ts + rng.randrange(0, 3) * 86400)
    end = time.gmtime(ts + rng.randrange(2, 6) * 86400)
    return rng.choice(
        (
            f"available {t.tm_mon}/{t.tm_mday}",
            f"{t.tm_year}-{t.tm_mon:02d}-{t.tm_mday:02d}",
            f"{MONTHS[t.tm_mon - 1]} {t.tm_mday}",
            f"here {t.tm_mon}/{t.tm_mday}-{end.tm_mon}/{end.tm_mday}",
        )
    )


def _price_text(voice: Voice, uk: bool, rng: random.Random) -> str:
    p = voice.price
    if uk:
        return ("£{p}", "£{h} 30min, £{p} 1hr", "{p}ph", "£{h} half hour")[voice.price_format % 4].format(
            p=p, h=p * 2 // 3
        )
    formats = (
        "{p} roses",
        "${p}/hr",
        "{h}hh",
        "hh {h} / h {p}",
        "qv {q}",
        "💰{p}",
        "donation {p}",
        "${p} special",
        "2hrs {d}",
        "{p} 🌹",
    )
    return formats[voice.price_format].format(p=p, h=p * 2 // 3, q=p // 2, d=p * 2 - 50)


def _fact(kind: str, post: Post, voice: Voice, content: Content, rng: random.Random) -> str:
    """One number-like detail that is not a phone number: the distractors extractors must skip."""
    city = post.city
    uk = city.country == "GB"
    if kind == "age":
        age = str(post.person.age)
        content.ages.append(age)
        return rng.choice((f"{age} yo", f"{age} years young", f"age {age}", f"{age}yrs", f"{age} y/o"))
    if kind == "height":
        feet, inches = rng.choice(((5, 0), (5, 2), (5, 3), (5, 4), (5, 6), (5, 7), (5, 9)))
        if uk:
            return f"{int((feet * 12 + inches) * 2.54)} cm"
        return rng.choice((f"{feet}'{inches}", f"{feet} ft {inches}", f"{feet}'{inches}\""))
    if kind == "measure":
        return rng.choice(("34-24-36", "34C", "size 4", "120 lbs", "36-26-38", "32B", "size 6", "135 lbs"))
    if kind == "price":
        return _price_text(voice, uk, rng)
    if kind == "time":
        return rng.choice(
            ("available 10am-2am", "10:30pm till late", "open till 11pm", "from 9 pm", "8:00am - 6pm")
        )
    if kind == "date":
        return _date_text(post.posted_at, rng)
    if kind == "room":
        return rng.choice(
            (
                f"room {rng.randint(1, 19)}{rng.randint(0, 40):02d}",
                f"suite {rng.randint(100, 499)}",
                "text for room #",
            )
        )
    if kind == "zip":
        if uk:
            return rng.choice(("W2", "SE1", "E15", "CR0", "W8", "NW1")) + " area"
        if not city.zip_prefixes:
            return "zip code on request"
        code = rng.choice(city.zip_prefixes) + f"{rng.randint(1, 99):02d}"
        return rng.choice((f"zip {code}", f"near {code}"))
    if kind == "247":
        return rng.choice(("24/7", "available 24/7", "24 hrs"))
    if kind == "road":
        if city.roads:
            return rng.choice(("near ", "off ", "by ")) + rng.choice(city.roads)
        return rng.choice(AREAS)
    return rng.choice(AREAS)


def _fill(template: str, post: Post, rng: random.Random) -> str:
    if "{" not in template:
        return template
    next_city = post.next_city or rng.choice(_OTHER_CITIES)
    return template.format(
        city=post.city.name,
        city2=next_city.name,
        weekday=WEEKDAYS[time.gmtime(post.stay_until).tm_wday],
        date_range=_date_text(post.posted_at, rng).split(" ", 1)[-1],
        eth=post.person.ethnicity,
    )


def _indicator_line(category: str, voice: Voice, post: Post, rng: random.Random) -> str:
    phrases = voice.indicator_phrases.get(category) or list(INDICATOR_PHRASES[category])
    return _fill(rng.choice(phrases), post, rng)


def _email_text(address: str, rng: random.Random) -> str:
    local, domain = address.split("@")
    name, tld = domain.rsplit(".", 1)
    shown = rng.choice(
        (
            address,
            f"{local} at {name} dot {tld}",
            f"{local} (at) {name} (dot) {tld}",
            f"{local}[at]{name}[dot]{tld}",
            f"{local} AT {name} DOT {tld}",
        )
    )
    return rng.choice(("Email: ", "✉️ ", "mail me ", "")) + shown


def _handle_text(platform: str, handle: str, rng: random.Random) -> str:
    return rng.choice(HANDLE_PLATFORMS[platform]).format(h=handle)


def _contact_lines(
    post: Post, voice: Voice, kind: str, rng: random.Random
) -> tuple[list[str], list[tuple[Phone, str]]]:
    placed: list[tuple[Phone, str]] = []

    def shown(phone: Phone) -> str:
        style = _style(voice, phone, rng)
        placed.append((phone, style))
        return render_phone(phone.national, phone.country, style, rng)

    if post.phone_mode == "none" or not post.phones:
        return [
            rng.choice(("Text me on snap only.", "Email only, no calls.", "Contact through the site."))
        ], placed
    if post.phone_mode == "one":
        return [rng.choice(voice.prefixes).format(phone=shown(post.phones[0]))], placed
    a, b = shown(post.phones[0]), shown(post.phones[1])
    if post.phone_mode == "new_number":
        line = rng.choice(
            (
                "NEW NUMBER {a} (old {b} is off)",
                "New # {a}. Don't use {b} anymore",
                "{a} new number!! not {b}",
            )
        )
    elif kind == "controlled" and not voice.plain:
        line = rng.choice(
            ("Call {a}, manager {b}", "Call {a} or text {b}", "{a} / {b}", "Booking {a}\nWhatsApp {b}")
        )
    else:
        line = rng.choice(("Call {a} or text {b}", "{a} / {b}", "Call {a}\nWhatsApp {b}", "{a} or {b}"))
    return [line.format(a=a, b=b)], placed


def _with_copy(voice: Voice, rng: random.Random) -> list[str]:
    """The body sentences of a writer who copied a popular text: the copy alone, or the copy in its
    place among her own stock sentences. Now and then a sentence of the copy falls out."""
    copy = [s for s in voice.copied or () if rng.random() < 0.95]
    if voice.copied_whole:
        return copy
    own = [s for s in voice.phrases if rng.random() < voice.keep]
    at = min(voice.copied_at, len(own))
    return own[:at] + copy + own[at:]


def compose(post: Post, network: Network, rng: random.Random) -> Content:
    """Write the site-independent text of one post in its writer's voice."""
    voice = post.person.voice
    person = post.person
    emoji = voice.emoji or ["💋"]
    indicators: list[str] = []

    # Title: the writer's own template, filled in.
    template = rng.choice(voice.titles)
    adjectives = PLAIN_ADJECTIVES if voice.plain else ADJECTIVES
    title = template.format(
        name=post.alias,
        city=post.city.name,
        emoji=rng.choice(emoji),
        adj=rng.choice(adjectives),
        adj2=rng.choice(adjectives).lower(),
        eth=person.ethnicity,
        age=person.age,
        area=rng.choice(AREAS),
    )
    if any(marker in template for marker in TITLE_MOVEMENT_MARKERS):
        indicators.append("movement")
    if "{eth}" in template:
        indicators.append("ethnicity")
    if voice.shout:
        title = title.upper()

    content = Content(title, title, lines=[], contact_lines=[], title_phone=None, body_phones=[])
    if "{age}" in template:
        content.ages.append(str(person.age))

    # Body sentences: a burner reposts its template; everyone else picks from her stock phrases.
    lines = [voice.opener.format(name=post.alias, emoji=rng.choice(emoji))]
    if voice.template is not None:
        sentences = list(voice.template)
        if rng.random() < 0.2:
            sentences.pop(rng.randrange(len(sentences)))
        if rng.random() < 0.1 and len(sentences) > 1:
            i = rng.randrange(len(sentences) - 1)
            sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
        for sentence in sentences:
            if sentence.startswith("{") and sentence[1:-1] in INDICATOR_PHRASES:
                category = sentence[1:-1]
                lines.append(_indicator_line(category, voice, post, rng))
                indicators.append(category)
            else:
                lines.append(sentence)
    else:
        if voice.copied is None:
            lines.extend(s for s in voice.phrases if rng.random() < voice.keep)
        else:
            lines.extend(_with_copy(voice, rng))
        for category, rate in voice.indicator_rates.items():
            if rng.random() < rate:
                lines.insert(rng.randrange(1, len(lines) + 1), _indicator_line(category, voice, post, rng))
                indicators.append(category)

    facts = [_fact(kind, post, voice, content, rng) for kind in voice.facts if rng.random() < 0.8]
    if facts:
        lines.append(rng.choice((" | ", ", ", " • ", " - ")).join(facts))

    contact, placed = _contact_lines(post, voice, network.kind, rng)
    content.contact_lines = contact
    content.body_phones = placed
    if post.phones and rng.random() < 0.12:
        phone = post.phones[0]
        style = _style(voice, phone, rng)
        content.title_phone = (phone, style)
        content.title = f"{content.title} {render_phone(phone.national, phone.country, style, rng)}"

    socials: list[str] = []
    if person.email and rng.random() < 0.7:
        socials.append(_email_text(person.email, rng))
        content.emails.append(person.email.lower())
    for platform, handle in person.handles:
        if rng.random() < 0.6:
            socials.append(_handle_text(platform, handle, rng))
            content.handles.append(f"{platform}:{handle.lower()}")
    if voice.handle and rng.random() < 0.7:
        platform, handle = voice.handle
        socials.append("Booking: " + _handle_text(platform, handle, rng))
        content.handles.append(f"{platform}:{handle.lower()}")
    lines.extend(socials)
    content.lines = lines
    content.indicators = list(dict.fromkeys(indicators))
    return content


def ad_id(source: Source, counter: int) -> str:
    """A unique, random-looking id: counter times an odd multiplier not divisible by 3 or 5."""
    number = (counter * source.id_multiplier) % 90_000_000 + 10_000_000
    if source.id_prefix == "vb":
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        out = ""
        while number:
            number, rem = divmod(number, 36)
            out = digits[rem] + out
        return "vb" + out
    return f"{source.id_prefix}{number}"


def _digit_like(ch: str) -> bool:
    return ch in "\u20e3\ufe0f" or unicodedata.normalize("NFKC", ch).isdigit()


def _join(lines: list[str], joiner: str) -> str:
    """Join sentences; where a bare space would run one number into the next, put a full stop.

    "Call 7 1 3 5 5 5 0 1 4 2 24 yo" has no right answer even for a person, so the generator never
    writes it: the truth must stay unambiguous, however hard the text.
    """
    if joiner != " ":
        return joiner.join(lines)
    out = lines[0] if lines else ""
    for line in lines[1:]:
        if out and line and _digit_like(out[-1]) and _digit_like(line[0]):
            out += ". " + line
        else:
            out += " " + line
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def render(
    post: Post,
    network: Network,
    content: Content,
    source: Source,
    identifier: str,
    posted_at: int,
    captured_at: int,
    images: list[str],
    stock_image: bool,
    rng: random.Random,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Lay ``content`` out as ``source`` shows ads; return (ad record, truth record)."""
    voice = post.person.voice
    placed: list[tuple[Phone, str]] = []
    fields: dict[str, str] = {}

    # Sites with a phone field: advertisers fill it in (some obfuscate even there), and some leave
    # the number out of the text entirely.
    field_only = False
    if "phone" in source.fields and post.phones:
        phone = post.phones[0]
        style = "plain" if rng.random() < 0.9 else _style(voice, phone, rng)
        if rng.random() < 0.85:
            fields["phone"] = render_phone(phone.national, phone.country, style, rng)
            field_only = rng.random() < 0.3
            field_phone: tuple[Phone, str] | None = (phone, style)
        else:
            field_phone = None
    else:
        field_phone = None

    title = content.title_without_phone if field_only else content.title
    if content.title_phone is not None and not field_only:
        placed.append(content.title_phone)

    lines = list(content.lines)
    contact = [] if field_only else content.contact_lines
    if not field_only:
        placed.extend(content.body_phones)
    if voice.contact_first:
        lines[1:1] = contact
    else:
        lines.extend(contact)
    if field_phone is not None:
        placed.append(field_phone)

    if "age" in source.fields and rng.random() < 0.8:
        fields["age"] = str(post.person.age)
        content_ages = [*content.ages, fields["age"]]
    else:
        content_ages = list(content.ages)
    if "name" in source.fields and rng.random() < 0.8:
        fields["name"] = post.alias
    # A writer of no indicator leaves the ethnicity fields empty too.
    if "ethnicity" in source.fields and rng.random() < 0.5 and not voice.plain:
        fields["ethnicity"] = post.person.ethnicity
    if "nationality" in source.fields and rng.random() < 0.4 and not voice.plain:
        fields["nationality"] = post.person.ethnicity
    if "rate" in source.fields and rng.random() < 0.6:
        fields["rate"] = _price_text(voice, source.country == "GB", rng)

    if rng.random() < 0.004:  # hostile markup, harmless as long as it is shown escaped
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(SCRIPT_NOISE))
    if source.html:
        if rng.random() < 0.3:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(HTML_NOISE))
        body = "<br>".join(lines)
    else:
        if rng.random() < 0.03:  # pasted from somewhere that kept its markup
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(HTML_NOISE))
        body = _join(lines, voice.joiner)

    hub_phones: list[str] = []
    if source.footer and rng.random() < source.footer_rate:
        hub = HUB_NUMBERS.get(source.name)
        if hub is not None:
            hub_phones.append(hub.e164)
        footer = _FOOTERS[source.name]
        body = f"{body}<br><br>{footer}" if source.html else f"{body}\n\n{footer}"

    city = post.city
    ad: dict[str, Any] = {
        "id": identifier,
        "source": source.name,
        "url": f"https://{source.domain}/{_slug(city.key)}/{identifier}",
        "posted_at": _iso(posted_at),
        "captured_at": _iso(captured_at),
        "title": title,
        "body": body,
        "location": city.labels[voice.label % len(city.labels)],
    }
    if images:
        ad["images"] = images
    if fields:
        ad["fields"] = fields

    phones = list(dict.fromkeys([p.e164 for p, _ in placed] + hub_phones))
    truth: dict[str, Any] = {
        "id": identifier,
        "source": source.name,
        "version": 1,
        "phones": phones,
        "person": post.person.id,
        "network": network.id,
        "kind": network.kind,
        "obfuscation": list(dict.fromkeys(style for _, style in placed)),
        "hub_phones": hub_phones,
        "stock_image": stock_image,
        "city": city.key,
        "names": [post.alias],
        "ages": list(dict.fromkeys(content_ages)),
        "emails": content.emails,
        "handles": content.handles,
        "indicators": content.indicators,
    }
    if voice.copied_text is not None:  # which popular text the writer copied (issue 12)
        truth["popular_text"] = voice.copied_text
    return ad, truth


def edit(
    ad: dict[str, Any], truth: dict[str, Any], captured_at: int, rng: random.Random, *, plain: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A later version of the same ad (same source and id): the advertiser edited the text.
    ``plain``: the writer uses no indicator phrase, in her updates neither."""
    new_ad = dict(ad)
    new_truth = dict(truth)
    new_truth["version"] = truth["version"] + 1
    new_ad["captured_at"] = _iso(captured_at)
    prefix = rng.choice(("UPDATED ", "NEW PICS ", "BACK! ", "AVAILABLE NOW "))
    new_ad["title"] = prefix + ad["title"]
    line = rng.choice(PLAIN_UPDATE_LINES if plain else UPDATE_LINES)
    if line in ("Last day!",):
        new_truth["indicators"] = list(dict.fromkeys([*truth["indicators"], "movement"]))
    separator = "<br>" if SOURCES[ad["source"]].html else "\n"
    new_ad["body"] = f"{line}{separator}{ad['body']}"
    return new_ad, new_truth
