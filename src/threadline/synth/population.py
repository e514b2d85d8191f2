"""Who posts: independents, controlled operations and burner operations, and their plans.

A `Network` is one operation (or one independent advertiser, a network of one) with its persons,
phones and the `Post`s it will make: when, in which city, on which sites, showing which phones and
which photos. The three kinds differ exactly where linking gets hard:

- independent: one person, one phone (rarely a second one later), one city (rarely a visit
  elsewhere), her own words; the majority of ads.
- controlled: one controller posts several persons under one or two shared phones, moves them
  together around a circuit of cities every few days, writes all their ads from the same stock
  phrases, and often uses a phone from another area code than the city's.
- burner: a new phone in every city, so only the photos (re-uploaded, resized, re-compressed) and
  the text template tie the ads together.

Three options (issue 12), all off by default so that a seed still gives the corpus it always gave:
a share of independents copy one of a few popular texts (`POPULAR_TEXTS`), each keeping her own
name, number, photos and city; a share of independents tour several cities with one number; and a
share of controlled operations write no indicator phrase at all (`Voice.plain`).

Only plans are made here; `compose` turns a post into ad text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from .obfuscate import OBFUSCATED_STYLES, WRITTEN_STYLES
from .phones import Phone, PhoneAllocator
from .vocab import (
    CITIES,
    EMAIL_DOMAINS,
    ETHNICITIES,
    GENERIC_PHRASES,
    HANDLE_PLATFORMS,
    HANDLE_WORDS,
    INDEPENDENT_PHRASES,
    INDICATOR_PHRASES,
    NAMES,
    OPENERS,
    OPERATION_PHRASES,
    PHONE_PREFIXES,
    PLAIN_EMOJI,
    PLAIN_GENERIC_PHRASES,
    PLAIN_OPERATION_PHRASES,
    POPULAR_EDITS,
    POPULAR_TEXTS,
    POPULAR_WEIGHTS,
    SIGN_EMOJI,
    TITLE_MOVEMENT_MARKERS,
    TITLE_TEMPLATES,
    City,
)

__all__ = ["KIND_SHARES", "Network", "Person", "Planner", "Post", "Voice"]

DAY = 86400

# Share of *ads* (not of networks) each kind should produce.
KIND_SHARES: dict[str, float] = {"independent": 0.73, "controlled": 0.17, "burner": 0.10}

# How likely each indicator category is in one ad, by kind. Operations use third-party and
# movement language far more; independents talk about screening instead (see vocab).
_INDICATOR_RATES: dict[str, dict[str, float]] = {
    "independent": {
        "third_party": 0.01,
        "movement": 0.06,
        "youth": 0.05,
        "ethnicity": 0.12,
        "restricted": 0.04,
        "trust": 0.10,
    },
    "controlled": {
        "third_party": 0.45,
        "movement": 0.45,
        "youth": 0.25,
        "ethnicity": 0.45,
        "restricted": 0.30,
        "trust": 0.30,
    },
    "burner": {
        "third_party": 0.10,
        "movement": 0.60,
        "youth": 0.20,
        "ethnicity": 0.30,
        "restricted": 0.20,
        "trust": 0.35,
    },
}

# Some styles are much more common than others in real ads; every one must still show up.
_STYLE_WEIGHTS: dict[str, float] = {
    "words_en": 14,
    "words_es": 5,
    "words_mixed": 8,
    "letters": 8,
    "spaced": 10,
    "separators": 10,
    "keycap": 8,
    "unicode": 8,
    "filler": 10,
    "double": 6,
    "mixed": 8,
    # How real ads write numbers beyond the classic styles (issue 13): seen less often each.
    "regrouped": 6,
    "words_tens": 5,
    "words_run": 4,
    "soundalike": 3,
    "leet": 4,
    "lookalikes": 4,
    "symbols": 6,
    "international": 4,
}
assert set(_STYLE_WEIGHTS) == set(OBFUSCATED_STYLES) | set(WRITTEN_STYLES)

_FACT_KINDS = ("age", "height", "measure", "price", "time", "date", "room", "zip", "247", "road", "area")


_US_CITIES = tuple(c for c in CITIES if c.country == "US")
_UK_CITIES = tuple(c for c in CITIES if c.country == "GB")
_UK_SHARE = 0.05
_NEARBY_CODES: dict[str, tuple[str, ...]] = {
    code: tuple(
        dict.fromkeys(c for other in _US_CITIES if other.region == city.region for c in other.area_codes)
    )
    for city in _US_CITIES
    for code in city.area_codes
}


@dataclass(slots=True)
class Voice:
    """How one writer (a person, or a controller for all her persons) writes ads."""

    phrases: list[str]  # the writer's stock sentences, in her usual order
    keep: float  # chance that one stock sentence is used in a given ad
    titles: list[str]  # one or two title templates she reuses
    opener: str
    emoji: list[str]
    joiner: str  # between sentences: newline, space, " ~ " ...
    shout: bool  # writes titles in capitals
    prefixes: list[str]  # "Call {phone}" habits
    styles: list[str]  # phone styles she uses when she hides her number
    obfuscate_rate: float
    facts: list[str]  # which number-like details she mentions (age, price, room, ...)
    indicator_rates: dict[str, float]
    indicator_phrases: dict[str, list[str]]  # the few phrases of each category she uses
    price: int
    price_format: int
    label: int  # which of a city's location labels she picks
    contact_first: bool
    # A burner's fixed text, reposted with small edits; "{movement}" and the like mark where an
    # indicator line of that category goes.
    template: list[str] | None = None
    handle: tuple[str, str] | None = None  # a contact shared by all of an operation's persons
    # A popular text she copied (issue 12): her copy (maybe touched up), which one it is, whether
    # it is her whole body text or a few sentences among her own, and where among them it goes.
    copied: list[str] | None = None
    copied_text: int | None = None
    copied_whole: bool = False
    copied_at: int = 0
    plain: bool = False  # writes nothing the indicator lexicon matches (issue 12)


@dataclass(slots=True)
class Person:
    index: int
    id: str
    aliases: list[str]
    age: int
    ethnicity: str
    n_images: int
    email: str | None
    handles: list[tuple[str, str]]  # (platform, handle)
    voice: Voice


@dataclass(slots=True)
class Post:
    person: Person
    posted_at: int  # seconds since the Unix epoch
    city: City
    phones: tuple[Phone, ...]  # the person's phones printed in this ad
    phone_mode: str  # "one", "both" (two phones), "new_number" (old and new), "none"
    sources: tuple[str, ...]  # first the site posted on, then cross-posts
    alias: str
    images: tuple[tuple[int, int], ...]  # (base, variant) of the person's photos
    stock_image: bool
    stay_until: int  # when the person leaves this city (for "only here until Friday")
    next_city: City | None


@dataclass(slots=True)
class Network:
    index: int
    id: str
    kind: str
    country: str
    persons: list[Person]
    posts: list[Post] = field(default_factory=list)
    touring: bool = False  # an independent who moves among several cities (issue 12)


class Planner:
    """Makes networks one after another from a single seeded random stream."""

    def __init__(
        self,
        rng: random.Random,
        allocator: PhoneAllocator,
        start: int,
        span_days: int,
        *,
        popular_share: float = 0.0,
        touring_share: float = 0.0,
        plain_share: float = 0.0,
    ) -> None:
        self.rng = rng
        # Shares of independents copying a popular text and touring, of controlled operations
        # writing no indicator phrase. At 0 no random number is drawn for them at all.
        self.popular_share = popular_share
        self.touring_share = touring_share
        self.plain_share = plain_share
        self._plain_credit = 0.5
        self.allocator = allocator
        self.start = start
        self.end = start + span_days * DAY
        self.span_days = span_days
        self._people = 0
        self._networks = 0

    # --- shared pieces ------------------------------------------------------------------------

    def _city(self, country: str) -> City:
        pool = _UK_CITIES if country == "GB" else _US_CITIES
        return self.rng.choices(pool, [c.weight for c in pool])[0]

    def _circuit(self, country: str, length: int, same_region: float) -> list[City]:
        first = self._city(country)
        cities = [first]
        pool = _UK_CITIES if country == "GB" else _US_CITIES
        regional = [c for c in pool if c.region == first.region]
        while len(cities) < length:
            options = regional if self.rng.random() < same_region else list(pool)
            nxt = self.rng.choices(options, [c.weight for c in options])[0]
            if nxt is not cities[-1]:
                cities.append(nxt)
        return cities

    def _post_time(self, day_start: int) -> int:
        # Most ads go up in the afternoon and evening.
        hour = self.rng.choices(
            range(24), [1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8, 8, 8, 7, 6, 4, 2]
        )[0]
        return day_start + hour * 3600 + self.rng.randrange(3600)

    def _phone(self, codes: tuple[str, ...], country: str, start: int, end: int) -> Phone:
        # When a city's own numbers run out, a number from the same region is the likeliest.
        nearby = tuple(dict.fromkeys(n for c in codes for n in _NEARBY_CODES.get(c, ())))
        return self.allocator.take(codes, country, start, end, nearby=nearby)

    def _foreign_codes(self, circuit: list[City]) -> tuple[str, ...]:
        """Area codes from a city the circuit never visits: the controller's home."""
        visited = {c.key for c in circuit}
        options = [c for c in _US_CITIES if c.key not in visited]
        home = self.rng.choice(options)
        return home.area_codes

    def _name(self) -> str:
        return self.rng.choice(NAMES)

    def _email(self, name: str) -> str:
        rng = self.rng
        separator = rng.choice((".", "_", ""))
        kind = rng.randrange(3)
        if kind == 0:
            suffix = rng.choice("abcdefghijklmnoprstvwyz")  # ruby.k
        elif kind == 1:
            suffix = str(rng.randrange(10, 100))  # ruby_92
        else:
            suffix = rng.choice(HANDLE_WORDS)  # rubyxo
        return f"{name.lower()}{separator}{suffix}@{rng.choice(EMAIL_DOMAINS)}"

    def _handle(self, name: str) -> tuple[str, str]:
        rng = self.rng
        platform = rng.choice(tuple(HANDLE_PLATFORMS))
        parts = [name.lower(), rng.choice(HANDLE_WORDS)]
        if rng.random() < 0.5:
            parts.reverse()
        handle = rng.choice(("_", ".", "")).join(parts)
        if rng.random() < 0.6:
            handle += str(rng.randrange(1, 100))
        return platform, handle

    def _titles(self, kind: str) -> list[str]:
        # Titles saying "new in town" or naming an ethnicity are indicators: independents use them
        # far less often than operations do.
        templates = TITLE_TEMPLATES
        if kind == "independent" and self.rng.random() < 0.85:
            templates = tuple(
                t for t in TITLE_TEMPLATES if not any(m in t for m in (*TITLE_MOVEMENT_MARKERS, "{eth}"))
            )
        return self.rng.sample(templates, self.rng.choice((1, 2)))

    def _voice(self, kind: str) -> Voice:
        rng = self.rng
        if kind == "independent":
            bank = rng.sample(GENERIC_PHRASES, rng.randint(3, 6)) + rng.sample(
                INDEPENDENT_PHRASES, rng.randint(1, 3)
            )
            rng.shuffle(bank)
            keep = rng.uniform(0.75, 0.95)
            obfuscator = rng.random() < 0.33
            obfuscate_rate = 0.85 if obfuscator else 0.04
        else:
            bank = rng.sample(OPERATION_PHRASES, rng.randint(3, 5)) + rng.sample(
                GENERIC_PHRASES, rng.randint(2, 4)
            )
            keep = rng.uniform(0.6, 0.85) if kind == "controlled" else 0.95
            obfuscator = rng.random() < (0.78 if kind == "controlled" else 0.85)
            obfuscate_rate = 0.82 if obfuscator else 0.05
        n_styles = rng.choice((1, 1, 2, 3))
        styles = rng.choices(list(_STYLE_WEIGHTS), list(_STYLE_WEIGHTS.values()), k=n_styles)
        rates = dict(_INDICATOR_RATES[kind])
        # Writers differ: some never use a category, some use it in most ads.
        for category in rates:
            rates[category] = min(0.95, rates[category] * rng.choice((0.0, 0.5, 1.0, 1.5, 2.0)))
        chosen_phrases = {
            cat: rng.sample(phrases, min(2, len(phrases))) for cat, phrases in INDICATOR_PHRASES.items()
        }
        return Voice(
            phrases=bank,
            keep=keep,
            titles=self._titles(kind),
            opener=rng.choice(OPENERS),
            emoji=rng.sample(SIGN_EMOJI, rng.randint(0, 3)),
            joiner=rng.choices(("\n", " ", " ~ ", "\n\n", " ✨ ", " | "), (5, 5, 1, 2, 1, 1))[0],
            shout=rng.random() < 0.25,
            prefixes=rng.sample(PHONE_PREFIXES, 2),
            styles=styles,
            obfuscate_rate=obfuscate_rate,
            facts=rng.sample(_FACT_KINDS, rng.randint(2, 6)),
            indicator_rates=rates,
            indicator_phrases=chosen_phrases,
            price=rng.choice((80, 100, 120, 150, 160, 180, 200, 250, 300)),
            price_format=rng.randrange(10),
            label=rng.randrange(8),
            contact_first=rng.random() < 0.3,
        )

    def _copy_popular(self, voice: Voice) -> None:
        """Give an independent's voice a copy of one popular text: most paste it whole as their
        ad, the others a few sentences of it among their own; half touch their copy up."""
        rng = self.rng
        index = rng.choices(range(len(POPULAR_TEXTS)), POPULAR_WEIGHTS)[0]
        sentences = list(POPULAR_TEXTS[index])
        whole = rng.random() < 0.6
        if not whole:
            n = rng.randint(2, 4)
            first = rng.randrange(len(sentences) - n + 1)
            sentences = sentences[first : first + n]
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 2)):
                what = rng.randrange(3)
                i = rng.randrange(len(sentences))
                if what == 0 and len(sentences) > 2:
                    sentences.pop(i)
                elif what == 1:
                    swaps = [(a, b) for a, b in POPULAR_EDITS if re.search(rf"\b{a}\b", sentences[i])]
                    if swaps:
                        a, b = rng.choice(swaps)
                        sentences[i] = re.sub(rf"\b{a}\b", b, sentences[i], count=1)
                else:
                    sentences[i] = sentences[i].rstrip(".!?") + rng.choice(("!", "!!", "", " :)", "..."))
        voice.copied = sentences
        voice.copied_text = index
        voice.copied_whole = whole
        voice.copied_at = rng.randint(0, len(voice.phrases))

    def _make_plain(self, voice: Voice) -> None:
        """Turn an operation's voice into one that writes no indicator: no indicator lines, no
        title saying it is new in town or naming an ethnicity, no coded emoji, no stated age, and
        stock sentences only from the plain lists."""
        rng = self.rng
        pool = [p for p in (*PLAIN_OPERATION_PHRASES, *PLAIN_GENERIC_PHRASES) if p not in voice.phrases]
        plain_phrases = set(PLAIN_OPERATION_PHRASES) | set(PLAIN_GENERIC_PHRASES)
        for i, phrase in enumerate(voice.phrases):
            if phrase not in plain_phrases:
                voice.phrases[i] = pool.pop(rng.randrange(len(pool)))
        templates = tuple(
            t for t in TITLE_TEMPLATES if not any(m in t for m in (*TITLE_MOVEMENT_MARKERS, "{eth}"))
        )
        voice.titles = rng.sample(templates, len(voice.titles))
        voice.emoji = [e for e in voice.emoji if e in PLAIN_EMOJI]
        voice.facts = [f for f in voice.facts if f != "age"]
        voice.indicator_rates = dict.fromkeys(voice.indicator_rates, 0.0)
        if voice.price_format == 9:  # "{p} 🌹"
            voice.price_format = rng.randrange(9)
        voice.plain = True

    def _tour(self, home: City, country: str, length: int) -> list[City]:
        """``length`` cities starting at home, never the same one twice in a row."""
        pool = _UK_CITIES if country == "GB" else _US_CITIES
        regional = [c for c in pool if c.region == home.region]
        cities = [home]
        while len(cities) < length:
            options = regional if self.rng.random() < 0.6 and len(regional) > 1 else list(pool)
            nxt = self.rng.choices(options, [c.weight for c in options])[0]
            if nxt is not cities[-1]:
                cities.append(nxt)
        return cities

    def _person(self, voice: Voice, *, kind: str, aliases: int, socials: float) -> Person:
        rng = self.rng
        self._people += 1
        names = [self._name() for _ in range(aliases)]
        handles: list[tuple[str, str]] = []
        if rng.random() < socials:
            handles = [self._handle(names[0]) for _ in range(rng.choice((1, 1, 2)))]
        email = self._email(names[0]) if rng.random() < socials * 0.7 else None
        young = kind != "independent" and rng.random() < 0.5
        return Person(
            index=self._people,
            id=f"P{self._people:07d}",
            aliases=names,
            age=rng.randint(18, 22) if young else rng.randint(19, 38),
            ethnicity=rng.choice(ETHNICITIES),
            n_images=rng.randint(2, 4),
            email=email,
            handles=handles,
            voice=voice,
        )

    def _network(self, kind: str, country: str, persons: list[Person]) -> Network:
        self._networks += 1
        return Network(self._networks, f"N{self._networks:06d}", kind, country, persons)

    def _sources(self, country: str) -> list[str]:
        rng = self.rng
        if country == "GB":
            primary = rng.choices(("larkboard", "velvetboard"), (7, 3))[0]
            others = ["velvetboard" if primary == "larkboard" else "larkboard"]
        else:
            primary = rng.choices(("nightpages", "lanternlist", "velvetboard"), (35, 30, 35))[0]
            others = [s for s in ("nightpages", "lanternlist", "velvetboard") if s != primary]
        return [primary, rng.choice(others)]

    def _images(self, person: Person, max_variant: int, p_original: float) -> tuple[tuple[int, int], ...]:
        rng = self.rng
        if rng.random() < 0.05:
            return ()
        bases = rng.sample(range(person.n_images), rng.randint(1, min(3, person.n_images)))
        return tuple((b, 0 if rng.random() < p_original else rng.randint(1, max_variant)) for b in bases)

    # --- the three kinds ----------------------------------------------------------------------

    def independent(self) -> Network:
        rng = self.rng
        country = "GB" if rng.random() < _UK_SHARE else "US"
        home = self._city(country)
        voice = self._voice("independent")
        touring = self.touring_share > 0 and rng.random() < self.touring_share
        if touring:
            # Touring independents say so: "visiting", "next stop", "in town until".
            voice.indicator_rates["movement"] = max(voice.indicator_rates["movement"], 0.3)
        if self.popular_share > 0 and rng.random() < self.popular_share:
            self._copy_popular(voice)
        person = self._person(voice, kind="independent", aliases=1, socials=0.35)
        network = self._network("independent", country, [person])

        n_posts = min(60, 1 + int(rng.expovariate(1 / 6)))
        stops = 0
        if touring:
            stops = rng.randint(2, 5)
            n_posts = max(n_posts, stops * rng.randint(1, 3))
        gap = rng.uniform(0.5, 4.0) * DAY
        t = self.start + rng.randrange(self.span_days * DAY)
        times: list[int] = []
        for _ in range(n_posts):
            if t >= self.end:
                break
            times.append(self._post_time(t - t % DAY))
            t += int(gap * rng.uniform(0.5, 1.5))
        times.sort()

        cities = [home] * len(times)
        stay_until = [times[-1]] * len(times)
        next_cities: list[City | None] = [None] * len(times)
        if touring and len(times) >= 2:  # a few days in each city of a tour, one after another
            network.touring = True
            tour = self._tour(home, country, min(stops, len(times)))
            cuts = [0, *sorted(rng.sample(range(1, len(times)), len(tour) - 1)), len(times)]
            for stop, city in enumerate(tour):
                for i in range(cuts[stop], cuts[stop + 1]):
                    cities[i] = city
                    stay_until[i] = times[cuts[stop + 1] - 1]
                    next_cities[i] = tour[stop + 1] if stop + 1 < len(tour) else None
        elif len(times) >= 4 and rng.random() < 0.10:  # a short trip to one other city
            away = self._circuit(country, 2, 0.8)[1] if country == "US" else self._city(country)
            first = rng.randrange(1, len(times) - 1)
            for i in range(first, min(len(times), first + rng.randint(1, 4))):
                cities[i] = away

        local = rng.random() < 0.8
        codes = home.area_codes if local else self._city("US").area_codes
        first_phone = self._phone(codes, country, times[0], times[-1])
        phones_at: list[tuple[Phone, ...]] = [(first_phone,)] * len(times)
        modes = ["one"] * len(times)
        if len(times) >= 3 and rng.random() < 0.05:  # a second phone later on
            switch = rng.randrange(1, len(times))
            second = self._phone(codes, country, times[switch], times[-1])
            keeps_both = rng.random() < 0.4  # a work phone and a WhatsApp phone, say
            for i in range(switch, len(times)):
                if keeps_both:
                    phones_at[i], modes[i] = (first_phone, second), "both"
                elif i == switch and rng.random() < 0.7:  # "NEW NUMBER ..., old one is off"
                    phones_at[i], modes[i] = (second, first_phone), "new_number"
                else:
                    phones_at[i] = (second,)

        sources = self._sources(country)
        cross = rng.random() < 0.25
        for i, posted in enumerate(times):
            no_phone = rng.random() < 0.04
            post_sources = tuple(sources) if cross and rng.random() < 0.6 else (sources[0],)
            network.posts.append(
                Post(
                    person=person,
                    posted_at=posted,
                    city=cities[i],
                    phones=() if no_phone else phones_at[i],
                    phone_mode="none" if no_phone else modes[i],
                    sources=post_sources,
                    alias=person.aliases[0],
                    images=self._images(person, 2, 0.9),
                    stock_image=rng.random() < 0.03,
                    stay_until=stay_until[i],
                    next_city=next_cities[i],
                )
            )
        return network

    def _schedule(self, circuit: list[City], stay: tuple[int, int]) -> list[tuple[City, int, int]]:
        """(city, arrival, departure) for each stop, fitted inside the corpus time span."""
        days = [self.rng.randint(*stay) for _ in circuit]
        total = sum(days) * DAY
        latest = max(self.start, self.end - total)
        t = self.start + self.rng.randrange(latest - self.start + 1)
        t -= t % DAY
        stops = []
        for city, d in zip(circuit, days, strict=True):
            stops.append((city, t, min(self.end, t + d * DAY)))
            t += d * DAY
        return [s for s in stops if s[1] < self.end]

    def controlled(self) -> Network:
        rng = self.rng
        country = "GB" if rng.random() < _UK_SHARE else "US"
        voice = self._voice("controlled")
        # The share asked, exactly rather than by chance: a handful of operations would often
        # have none or all of them plain. Half a turn's credit to start: the first is plain at 0.5.
        self._plain_credit += self.plain_share
        if self.plain_share > 0 and self._plain_credit >= 1:
            self._plain_credit -= 1
            self._make_plain(voice)
        if rng.random() < 0.4:
            platform = rng.choice(("telegram", "snapchat", "instagram"))
            voice.handle = (
                platform,
                rng.choice(("vip", "booking", "elite", "angels", "dolls"))
                + rng.choice(("_", "", "."))
                + rng.choice(("agency", "models", "girls", "bookings"))
                + str(rng.randrange(10, 100)),
            )
        theme = rng.choice(ETHNICITIES) if rng.random() < 0.5 else None
        persons = []
        for _ in range(rng.randint(2, 6)):
            p = self._person(voice, kind="controlled", aliases=rng.randint(1, 3), socials=0.08)
            if theme:
                p.ethnicity = theme
            persons.append(p)
        network = self._network("controlled", country, persons)

        circuit = self._circuit(country, rng.randint(3, 6), 0.7)
        if rng.random() < 0.35:  # round and round: the same circuit again
            circuit = circuit + circuit
        stops = self._schedule(circuit, (2, 7))
        first, last = stops[0][1], stops[-1][2]
        if country == "GB":
            codes: tuple[str, ...] = ("020",)
        else:
            codes = self._foreign_codes(circuit) if rng.random() < 0.7 else circuit[0].area_codes
        phones = [self._phone(codes, country, first, last)]
        two_phones = rng.random() < 0.4
        switch_at = first + (last - first) // 2
        both_mode = rng.random() < 0.5
        if two_phones:
            phones.append(self._phone(codes, country, switch_at if not both_mode else first, last))

        sources = self._sources(country)
        cross = rng.random() < 0.5
        aliases = {p.id: p.aliases[0] for p in persons}
        for stop_index, (city, arrive, leave) in enumerate(stops):
            next_city = stops[stop_index + 1][0] if stop_index + 1 < len(stops) else None
            for person in persons:
                if rng.random() < 0.3:  # a new name in a new city
                    aliases[person.id] = rng.choice(person.aliases)
                alias = aliases[person.id]
                for day in range(arrive, leave, DAY):
                    for _ in range(rng.choices((0, 1, 2), (4, 5, 1))[0]):
                        posted = self._post_time(day)
                        shown: tuple[Phone, ...] = (phones[0],)
                        mode = "one"
                        if two_phones and both_mode:
                            if rng.random() < 0.5:
                                shown, mode = (phones[0], phones[1]), "both"
                            else:
                                shown = (rng.choice(phones),)
                        elif two_phones and posted >= switch_at:
                            shown = (phones[1],)
                        if rng.random() < 0.03:
                            shown, mode = (), "none"
                        network.posts.append(
                            Post(
                                person=person,
                                posted_at=posted,
                                city=city,
                                phones=shown,
                                phone_mode=mode,
                                sources=tuple(sources) if cross and rng.random() < 0.5 else (sources[0],),
                                alias=alias,
                                images=self._images(person, 3, 0.6),
                                stock_image=rng.random() < 0.03,
                                stay_until=leave,
                                next_city=next_city,
                            )
                        )
        network.posts.sort(key=lambda p: p.posted_at)
        return network

    def burner(self) -> Network:
        rng = self.rng
        country = "GB" if rng.random() < _UK_SHARE else "US"
        voice = self._voice("burner")
        persons = [
            self._person(voice, kind="burner", aliases=rng.randint(1, 3), socials=0.03)
            for _ in range(rng.randint(1, 3))
        ]
        network = self._network("burner", country, persons)
        # The template: the stock sentences plus the indicator lines, fixed once and reposted.
        voice.template = list(voice.phrases)
        for category, rate in voice.indicator_rates.items():
            if rng.random() < rate:
                voice.template.insert(rng.randrange(len(voice.template) + 1), f"{{{category}}}")
        circuit = self._circuit(country, rng.randint(3, 6), 0.5)
        stops = self._schedule(circuit, (3, 8))
        shared_phone = rng.random() < 0.5

        sources = self._sources(country)
        for stop_index, (city, arrive, leave) in enumerate(stops):
            next_city = stops[stop_index + 1][0] if stop_index + 1 < len(stops) else None
            local = city.area_codes if rng.random() < 0.7 else self._city("US").area_codes
            if country == "GB":
                local = ("020",)
            stop_phone = self._phone(local, country, arrive, leave) if shared_phone else None
            for person in persons:
                phone = stop_phone or self._phone(local, country, arrive, leave)
                alias = rng.choice(person.aliases)
                source = rng.choice(sources)
                for day in range(arrive, leave, DAY):
                    if rng.random() < 0.3:
                        continue
                    no_phone = rng.random() < 0.02
                    network.posts.append(
                        Post(
                            person=person,
                            posted_at=self._post_time(day),
                            city=city,
                            phones=() if no_phone else (phone,),
                            phone_mode="none" if no_phone else "one",
                            sources=(source,),
                            alias=alias,
                            images=self._images(person, 5, 0.3),
                            stock_image=rng.random() < 0.02,
                            stay_until=leave,
                            next_city=next_city,
                        )
                    )
        network.posts.sort(key=lambda p: p.posted_at)
        return network
