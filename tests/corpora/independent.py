"""An ad corpus with its truth, written apart from the project's own generator (`threadline.synth`)
to check linking against a model of the ads its authors did not write. It must never import
`threadline.synth` (nor anything else from the project): a corpus made by the linker's authors'
own generator tests their assumptions twice.

    from corpora.independent import generate   # tests (tests/ is on pytest's pythonpath)
    generate(out_dir, scale=0.2, popular_share=0.5, seed=7)

    python tests/corpora/independent.py --out DIR [--popular-share 0.3] [--seed 7] [--scale 1]

Writes DIR/ads.jsonl (the input contract) and DIR/truth.jsonl ({"source", "id", "person",
"network", "kind", "city", ...}; kind is "independent", "opA", "opB" or "opC"). At scale 1 (250
independents, 40 operations) that is about 3,000 ads; a scale multiplies both counts.

Model
- Independents: own name (sometimes 2 aliases), own phone (15% change number once, half of
  them announce both), home city; 25% tour 2-4 cities ("visiting X this week only"). Each has a
  personal style drawn once from shared phrase pools; her ads are re-posts of her own text with
  small edits. A share (popular_share) instead copy one of 5 popular copy-paste texts
  verbatim or nearly (own name/phone/city).
- Operations (3-10 women each), three kinds:
    A: one booking phone shared by all women, rotating every 2-4 weeks, short overlap when
       both numbers are printed ("NEW NUMBER");
    B: each woman has her own phone (replaced once or twice), a manager phone in ~40% of ads;
    C: rotating booking phone with no overlap (links across rotations only via template/names).
  One template per operation, woman's name/age swapped; women moved city to city every 3-6 days;
  some ads show two women.
- Hubs: an "SMS specials" stock number, a screening/verification service line, and a site-added
  hotline footer, each appearing in many unrelated ads (alongside the ad's own phone).
- Three sources with different formats; some same-(source,id) edits (new versions).
All phones are NXX-555-01NN (fictional). Text is non-explicit.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CITIES = [  # name, state, area codes
    ("Houston", "TX", ["713", "281", "832"]),
    ("Dallas", "TX", ["214", "469", "972"]),
    ("San Antonio", "TX", ["210", "726"]),
    ("Austin", "TX", ["512", "737"]),
    ("Atlanta", "GA", ["404", "678", "470"]),
    ("Miami", "FL", ["305", "786"]),
    ("Orlando", "FL", ["407", "321"]),
    ("Tampa", "FL", ["813", "656"]),
    ("Phoenix", "AZ", ["602", "480", "623"]),
    ("Las Vegas", "NV", ["702", "725"]),
    ("Los Angeles", "CA", ["213", "323", "310"]),
    ("San Diego", "CA", ["619", "858"]),
    ("Chicago", "IL", ["312", "773", "872"]),
    ("Denver", "CO", ["303", "720"]),
    ("Charlotte", "NC", ["704", "980"]),
    ("Nashville", "TN", ["615", "629"]),
    ("Memphis", "TN", ["901"]),
    ("New Orleans", "LA", ["504"]),
    ("Oklahoma City", "OK", ["405"]),
    ("Columbus", "OH", ["614", "380"]),
    ("Detroit", "MI", ["313", "248"]),
    ("Newark", "NJ", ["973", "862"]),
    ("Baltimore", "MD", ["410", "443"]),
    ("Seattle", "WA", ["206", "253"]),
]
REGIONS = {  # operations circulate within a region
    "south": ["Houston", "Dallas", "San Antonio", "Austin", "New Orleans", "Oklahoma City", "Memphis"],
    "southeast": ["Atlanta", "Miami", "Orlando", "Tampa", "Charlotte", "Nashville"],
    "west": ["Phoenix", "Las Vegas", "Los Angeles", "San Diego", "Denver", "Seattle"],
    "north": ["Chicago", "Detroit", "Columbus", "Newark", "Baltimore", "Nashville"],
}
CITY = {c[0]: c for c in CITIES}

NAMES = """Jessica Ashley Amanda Brittany Samantha Sarah Stephanie Jennifer Elizabeth Lauren Megan Emily
Nicole Kayla Amber Rachel Courtney Danielle Heather Melissa Rebecca Chelsea Tiffany Kimberly Christina
Amy Michelle Crystal Vanessa Alexis Jasmine Destiny Diamond Candy Cherry Honey Angel Mia Bella Sophia
Isabella Olivia Ava Chloe Madison Abigail Natalie Hannah Victoria Gabriela Valeria Daniela Lucia Camila
Paris Skye Jade Ruby Roxy Lexi Kylie Brandy Crystal Star Summer Autumn Raven Luna Gigi Nina Tina Lily
Coco Kiki Sasha Natasha Monica Erica Alicia Bianca Carmen Rosa Maria Yesenia Keisha Aaliyah Tasha""".split()

EMOJI = [
    "💋",
    "🌹",
    "💕",
    "😘",
    "🔥",
    "✨",
    "💦",
    "🍑",
    "🍒",
    "👅",
    "💎",
    "👑",
    "🌸",
    "😍",
    "💯",
    "🥰",
    "🌴",
    "❤️",
]

# ---------------------------------------------------------------- phrase pools (independents)
GREET = [
    "Hey gentlemen",
    "Hi guys",
    "Hello there",
    "Hey loves",
    "Hi boys",
    "Good evening gents",
    "Hey handsome",
    "Hiii",
    "Welcome",
    "Hello gentlemen",
    "Hey babe",
    "Hi sweeties",
]
INTRO = [
    "my name is {name}",
    "I'm {name}",
    "it's {name}",
    "they call me {name}",
    "{name} here",
    "I am {name}",
    "this is {name}",
    "call me {name}",
]
DESC = [
    "a sweet and classy {age} yr old",
    "your petite {age} year old girl next door",
    "a curvy southern belle, {age}",
    "an upscale companion ({age})",
    "a fun bubbly {age} y/o",
    "a naughty but nice {age}yo",
    "a down to earth {age} yr old college girl",
    "a thick and pretty {age} year old",
    "a tall slim model type, age {age}",
    "a laid back sexy {age} yr old",
    "your discreet {age} y.o. treat",
    "a green eyed {age} yo cutie",
]
ABOUT = [
    "I love good conversation and making you feel relaxed.",
    "I'm all about good vibes and great company.",
    "Looking to meet respectful generous gentlemen.",
    "Let me help you unwind after a long day.",
    "I promise you won't be disappointed.",
    "Real pics, real girl, no games.",
    "I take pride in my hygiene and expect the same.",
    "I enjoy the finer things and mature men.",
    "Discretion is a must, I am very private.",
    "Come see why my regulars keep coming back.",
    "Sweet personality and even sweeter smile.",
    "I'm new to this so be nice :)",
    "Ask about my specials for first timers.",
    "I'm a smoker friendly and 420 friendly girl.",
    "My time is yours, no rushing.",
]
SERVICE = [
    "Incall & outcall",
    "Incall only",
    "Outcall only",
    "In/out available",
    "Incall in a safe clean spot",
    "Outcall to hotels only",
    "Car dates ok",
    "Incall near the airport",
    "Upscale incall",
]
RATES = [
    "{a} qv / {b} hh / {c} hr",
    "QV {a} HH {b} H {c}",
    "${b} half, ${c} hour",
    "rates: {a}/{b}/{c}",
    "{b} for 30 min, {c} for the hour",
    "donations {b}hh {c}h",
    "hh {b} | hr {c}",
    "{b} roses for 30, {c} roses for 60",
]
RULES = [
    "No blocked calls.",
    "No law enforcement.",
    "Serious inquiries only.",
    "Screening required.",
    "No texting games.",
    "Please be respectful.",
    "Text first please.",
    "No pimps.",
    "No rush, no drama.",
    "No explicit texts, you will be blocked.",
    "Be on time.",
    "References preferred.",
    "Cash only.",
    "I do not answer private numbers.",
]
CONTACT = [
    "Call or text {phone}",
    "Text me at {phone}",
    "{phone} call/text",
    "Reach me: {phone}",
    "Hit me up {phone}",
    "Txt {phone}",
    "📱 {phone}",
    "Call me now {phone}",
    "contact: {phone}",
    "☎ {phone}",
    "Text only {phone}",
]
SIGN = ["xoxo", "kisses", "see you soon", "- {name}", "ttyl", "muah", "hugs", "", "", ""]
TITLE = [
    "{e} {name} {e} {desc_short}",
    "{desc_short} - {name} {e}",
    "{E} {name} {E}",
    "{e}{e} {desc_short} {e}{e}",
    "{name} ~ {desc_short}",
    "{desc_short} in {city}",
    "{CAPS} {e}",
    "{name} {age} {e}",
]
SHORT = [
    "Sweet and Sexy",
    "Classy Companion",
    "Girl Next Door",
    "Curvy Cutie",
    "Upscale Treat",
    "Petite Blonde",
    "Sexy Brunette",
    "Southern Sweetheart",
    "Real Pics",
    "Your Dream Girl",
    "Thick and Pretty",
    "Best in Town",
    "Young and Fun",
    "Exotic Beauty",
    "Available Now",
]
CAPS = ["AVAILABLE NOW", "INCALL SPECIALS", "REAL AND READY", "COME PLAY", "HOT SPECIALS", "NEW PICS"]

# ---------------------------------------------------------------- popular copy-paste texts
POPULAR = [
    (
        "Hey there gentlemen, thank you for stopping by my ad. My name is {name} and I am a sweet, "
        "classy and discreet {age} year old companion who loves to make your time unforgettable. "
        "I am real, my pictures are real, and I will be exactly who you see. I only see respectful "
        "gentlemen who value discretion as much as I do. No rushing, no drama, just a relaxing "
        "experience with a girl who truly enjoys what she does. Available for incall in {city} and "
        "outcall to upscale hotels. Text me at {phone} with your name, age and the time you are "
        "looking for. {rate_line} Kisses {e}"
    ),
    (
        "✨✨ READ BEFORE CONTACTING ✨✨ I do not respond to explicit texts. I do not do car dates. "
        "I do not see men under 25. Screening is required for first time friends, no exceptions. "
        "If you can follow simple instructions we will get along just fine {e} I'm {name}, {age}, "
        "visiting {city} for a limited time. Real pics, 100% me. {rate_line} Text {phone} to book. "
        "Deposits required for outcall. Thank you for reading!"
    ),
    (
        "{e} NEW IN TOWN {e} Hi loves I'm {name} {e} Your favorite exotic sweetheart with a bubbly "
        "personality and a body that won't quit. Let me be your stress reliever tonight. I'm "
        "available 24/7 incall and outcall, clean, safe and discreet location in {city}. "
        "Specials all day for early birds!! {rate_line} Call or text {phone} don't miss out babe {e}{e}"
    ),
    (
        "Looking for the girlfriend experience? Look no further. I'm {name}, a down to earth "
        "{age} yr old who loves good conversation, great food and even better company. Whether you "
        "want a dinner date or a quiet night in, I will make sure you leave with a smile. "
        "I am upscale and expect the same from you. Hygiene is a must. Located in {city}, "
        "available most days from 10am to 2am. {rate_line} Contact me {phone}. No blocked numbers."
    ),
    (
        "Im {name} {e} sweet sexy and ready to play {e} upscale independent provider {e} 100% real "
        "{e} no fakes no games {e} incall outcall {e} {city} {e} {rate_line} {e} text {phone} "
        "{e} no police no pimps no drama {e} serious men only {e}"
    ),
]

# ---------------------------------------------------------------- operation templates (built per op)
OP_OPEN = [
    "NEW GIRLS IN TOWN!!",
    "Just arrived!!",
    "Fresh faces this week",
    "Best service in town",
    "Grand opening specials",
    "Young beautiful girls",
    "Sweet Asian style massage & company",
    "Latina girls new arrivals",
    "Sexy hot girls waiting for you",
    "VIP girls available now",
]
OP_BODY = [
    "Hi I am {name} {age} years old, very sweet and friendly",
    "My name is {name}, {age}, new here and ready to meet you",
    "{name} ({age}) just got to {city}, come see me",
    "Meet {name}, {age}, pretty face nice body",
    "I'm {name}, {age}, sweet girl very nice service",
    "Call for {name} {age}yo best girlfriend in {city}",
]
OP_MID = [
    "Available 24/7 call anytime.",
    "Outcall only to your hotel.",
    "Incall private room clean safe.",
    "We have many girls to choose from.",
    "Ask for specials, new girls every week.",
    "Open late night early morning.",
    "2 girls special available.",
    "Very discreet, no rush.",
    "Nice service, you will come back.",
    "Call now don't wait!!",
    "Cash only, no checks.",
    "Ask for the manager for booking.",
]
OP_RATE = [
    "Specials {b}/{c}",
    "{b} half hour {c} hour",
    "HH {b} H {c}",
    "ask for price",
    "Special {b} today only",
    "donation {b} 30min",
]


def spoken(d: str) -> str:
    words = "zero one two three four five six seven eight nine".split()
    return words[int(d)]


def fmt_phone(rng: random.Random, ac: str, ln: str, style: str | None = None) -> str:
    """ac '713', ln '0142' -> one human rendering of (713) 555-0142."""
    st = (
        style
        or rng.choices(
            [
                "paren",
                "dash",
                "dot",
                "space",
                "plain",
                "plus",
                "spelled",
                "mixed",
                "leet",
                "star",
                "spread",
                "one",
            ],
            weights=[20, 20, 12, 10, 8, 4, 3, 5, 4, 4, 3, 3],
        )[0]
    )
    if st == "paren":
        return f"({ac}) 555-{ln}"
    if st == "dash":
        return f"{ac}-555-{ln}"
    if st == "dot":
        return f"{ac}.555.{ln}"
    if st == "space":
        return f"{ac} 555 {ln}"
    if st == "plain":
        return f"{ac}555{ln}"
    if st == "plus":
        return f"+1 {ac} 555 {ln}"
    if st == "one":
        return f"1-{ac}-555-{ln}"
    if st == "spelled":
        return " ".join(spoken(c) for c in ac + "555" + ln)
    if st == "mixed":  # some digits spelled
        s = list(ac + "555" + ln)
        for i in rng.sample(range(10), 3):
            s[i] = spoken(s[i])
        return f"{''.join(s[:3])} {''.join(s[3:6])} {''.join(s[6:])}"
    if st == "leet":
        t = f"{ac}-555-{ln}"
        return t.replace("0", "O", 1).replace("1", "l", 1)
    if st == "star":
        return f"{ac}*555*{ln}"
    if st == "spread":
        return " ".join(ac + "555" + ln)
    raise ValueError(st)


class Phones:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str]] = set()

    def new(self, city: str) -> tuple[str, str]:
        acs = CITY[city][2]
        while True:
            ac = (
                self.rng.choice(acs)
                if self.rng.random() < 0.85
                else self.rng.choice(self.rng.choice(CITIES)[2])
            )
            ln = f"01{self.rng.randrange(100):02d}"
            if (ac, ln) not in self.used:
                self.used.add((ac, ln))
                return ac, ln


def loc_field(rng: random.Random, city: str, source: str) -> str | None:
    c = CITY[city]
    if source == "citylist":
        return f"{c[0]}, {c[1]}"
    if source == "nightpages":
        return rng.choice([c[0], c[0].lower(), f"{c[0]} {c[1]}", f"{c[0]} area"])
    return None if rng.random() < 0.4 else c[0]


def rates(rng: random.Random) -> dict[str, int]:
    c = rng.choice([150, 180, 200, 220, 250, 300, 350, 400])
    return {
        "a": rng.choice([60, 80, 100, 120]),
        "b": int(c * rng.choice([0.6, 0.65, 0.7]) // 10 * 10),
        "c": c,
    }


def small_edit(rng: random.Random, text: str) -> str:
    """A re-post edit: swap emoji, add/remove a phrase, change spacing or a word."""
    ops = rng.sample(["emoji", "add", "drop", "case", "bump", "none"], k=rng.randint(1, 2))
    for op in ops:
        if op == "emoji":
            text = text + " " + rng.choice(EMOJI)
        elif op == "add":
            text = (
                rng.choice(
                    [
                        "Available today!",
                        "Back again!",
                        "Last day here!",
                        "Specials today only.",
                        "Updated pics.",
                        "Im back :)",
                        "Available late tonight.",
                    ]
                )
                + " "
                + text
            )
        elif op == "drop":
            sents = text.split(". ")
            cand = [j for j in range(1, len(sents) - 1) if not any(ch.isdigit() for ch in sents[j])]
            if len(sents) > 3 and cand:
                sents.pop(rng.choice(cand))
                text = ". ".join(sents)
        elif op == "case":
            text = text.replace("  ", " ").replace("!!", "!")
        elif op == "bump":
            text = text.replace("available", "availble", 1)
    return text


INDEPENDENTS = 250  # at scale 1
OPERATIONS = 40
DAYS = 90
SOURCES = ["citylist", "nightpages", "escortboard"]


@dataclass(frozen=True)
class Corpus:
    """What `generate` wrote."""

    ads: Path  # ads.jsonl
    truth: Path  # truth.jsonl, one row per (source, id)
    records: int  # lines of ads.jsonl (an ad edited later is two)
    ad_count: int  # distinct (source, id)
    phones: int  # fictional numbers handed out


def generate(out_dir: str | Path, *, scale: float = 1.0, popular_share: float = 0.3, seed: int = 7) -> Corpus:
    """Write ads.jsonl and truth.jsonl into ``out_dir`` (made if missing): ``round(250 * scale)``
    independents, ``popular_share`` of them copying a popular text, and ``round(40 * scale)``
    operations; about 3,000 ads at scale 1. The same arguments give the same files."""
    rng = random.Random(seed)
    phones = Phones(rng)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    independents = round(INDEPENDENTS * scale)
    operations = round(OPERATIONS * scale)
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    ads: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    counters = {s: 100000 for s in SOURCES}

    # hubs
    hub_sms = ("800", "0177")  # "text for specials" stock number
    hub_screen = ("702", "0111")  # screening/verification service
    hub_hotline = ("888", "0199")  # hotline footer added by one site
    for h in (hub_sms, hub_screen, hub_hotline):
        phones.used.add(h)

    def emit(
        source: str,
        title: str,
        body: str,
        when: datetime,
        city: str,
        person: str,
        network: str,
        kind: str,
        extra_fields: dict[str, str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        counters[source] += rng.randint(1, 37)
        aid = str(counters[source])
        if source == "escortboard" and rng.random() < 0.12:  # this site appends a hotline footer
            hotline = fmt_phone(rng, *hub_hotline, "one")
            body += f"\n\nIf you or someone you know is being exploited call {hotline}"
        if source == "citylist":
            body = body.replace("\n", "<br>")
        rec = {
            "id": aid,
            "source": source,
            "url": f"https://{source}.example/ad/{aid}",
            "posted_at": when.isoformat().replace("+00:00", "Z"),
            "captured_at": (when + timedelta(hours=rng.randint(1, 30))).isoformat().replace("+00:00", "Z"),
            "title": title,
            "body": body,
        }
        loc = loc_field(rng, city, source)
        if loc:
            rec["location"] = loc
        if extra_fields:
            rec["fields"] = extra_fields
        ads.append(rec)
        truth.append(
            {
                "source": source,
                "id": aid,
                "person": person,
                "network": network,
                "kind": kind,
                "city": city,
                **(meta or {}),
            }
        )
        # same (source,id) edited later: new version
        if rng.random() < 0.03:
            rec2 = dict(rec)
            rec2["body"] = small_edit(rng, body)
            rec2["captured_at"] = (
                (when + timedelta(days=rng.randint(1, 5))).isoformat().replace("+00:00", "Z")
            )
            ads.append(rec2)

    # ------------------------------------------------------------ independents
    n_pop = round(independents * popular_share)
    pop_ids = set(rng.sample(range(independents), n_pop))
    for i in range(independents):
        pid = f"I{i:03d}"
        name = rng.choice(NAMES)
        alias = rng.choice(NAMES) if rng.random() < 0.15 else None
        age = rng.randint(19, 35)
        home = rng.choice(CITIES)[0]
        ph = [phones.new(home)]
        change_at = None
        announce = False
        if rng.random() < 0.15:
            ph.append(phones.new(home))
            change_at = rng.randint(20, 70)
            announce = rng.random() < 0.5
        tour = []
        if rng.random() < 0.25:
            tour = rng.sample([c[0] for c in CITIES if c[0] != home], rng.randint(2, 4))
        srcs = rng.sample(SOURCES, rng.randint(1, 3))
        r = rates(rng)
        phone_style = rng.choice(["paren", "dash", "dot", "space", "plain", None, None])
        emo = rng.sample(EMOJI, 3)
        use_hub_sms = rng.random() < 0.08
        use_hub_screen = rng.random() < 0.06
        popular = i in pop_ids
        pop_idx = rng.randrange(len(POPULAR))
        rate_line = rng.choice(RATES).format(**r)
        if popular:
            base = POPULAR[pop_idx]
            if rng.random() < 0.4:  # near-verbatim: drop or add a sentence
                s = base.split(". ")
                cand = [j for j in range(1, len(s) - 1) if "{phone}" not in s[j]]
                if rng.random() < 0.5 and len(s) > 4 and cand:
                    s.pop(rng.choice(cand))
                else:
                    s.insert(rng.randrange(1, len(s)) if len(s) > 1 else 1, rng.choice(ABOUT).rstrip("."))
                base = ". ".join(s)
        else:
            parts = [rng.choice(GREET) + ", " + rng.choice(INTRO) + ", " + rng.choice(DESC) + "."]
            parts += rng.sample(ABOUT, rng.randint(1, 3))
            parts.append(rng.choice(SERVICE) + " in {city}.")
            parts.append("{rate_line}")
            parts += rng.sample(RULES, rng.randint(0, 3))
            parts.append(rng.choice(CONTACT) + ".")
            sg = rng.choice(SIGN)
            if sg:
                parts.append(sg)
            sep = rng.choice([" ", "\n", " {e} "])
            base = sep.join(parts)
        title_t = rng.choice(TITLE)
        n_ads = max(1, int(rng.lognormvariate(1.6, 0.6)))
        # schedule: home, and tour legs of 3-5 days
        legs = []
        if tour:
            start = rng.randint(5, 50)
            for c in tour:
                legs.append((start, start + rng.randint(2, 4), c))
                start += rng.randint(4, 10)
        days = sorted(rng.sample(range(DAYS), min(n_ads, DAYS)))
        for leg in legs:  # ensure touring ads exist
            days += [rng.randint(leg[0], leg[1])]
        for d in sorted(days):
            city = home
            touring = False
            for a, b, c in legs:
                if a <= d <= b:
                    city, touring = c, True
            cur = ph[1] if change_at is not None and d >= change_at else ph[0]
            pstr = fmt_phone(rng, *cur, phone_style)
            if change_at is not None and announce and change_at <= d < change_at + 10:
                pstr = f"NEW NUMBER {pstr} (old {fmt_phone(rng, *ph[0], phone_style)})"
            nm = alias if alias and rng.random() < 0.3 else name
            e = rng.choice(emo)
            body = base.format(
                name=nm,
                age=age if rng.random() < 0.9 else age + 1,
                city=city,
                phone=pstr,
                e=e,
                rate_line=rate_line,
            )
            if touring:
                body = (
                    rng.choice(
                        [
                            f"Visiting {city} {d % 28 + 1}th-{d % 28 + 4}th only! ",
                            f"*** ON TOUR in {city} this week ***\n",
                            f"In {city} for a few days only. ",
                        ]
                    )
                    + body
                )
            if use_hub_sms and rng.random() < 0.7:
                body += f"\nText {fmt_phone(rng, *hub_sms)} for daily specials!"
            if use_hub_screen and rng.random() < 0.7:
                body += f"\nVerified provider - screening via SafeDate {fmt_phone(rng, *hub_screen)}"
            body = small_edit(rng, body) if rng.random() < 0.6 else body
            title = title_t.format(
                name=nm,
                e=e,
                E=e * 3,
                desc_short=rng.choice(SHORT) if rng.random() < 0.3 else SHORT[i % len(SHORT)],
                city=city,
                CAPS=rng.choice(CAPS),
                age=age,
            )
            src = rng.choice(srcs)
            fields = None
            if src == "nightpages":
                fields = {"age": str(age), "name": nm}
                if rng.random() < 0.5:
                    fields["phone"] = f"{cur[0]}-555-{cur[1]}"
            when = t0 + timedelta(days=d, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            emit(
                src,
                title,
                body,
                when,
                city,
                pid,
                pid,
                "independent",
                fields,
                {"popular": pop_idx if popular else None, "touring": touring},
            )

    # ------------------------------------------------------------ operations
    for k in range(operations):
        nid = f"O{k:02d}"
        region = rng.choice(list(REGIONS))
        circuit = rng.sample(REGIONS[region], rng.randint(3, min(6, len(REGIONS[region]))))
        kind = "AAAAABBBCC"[k % 10]
        n_w = rng.randint(3, 10)
        women = []
        for j in range(n_w):
            women.append(
                {
                    "pid": f"{nid}W{j}",
                    "name": rng.choice(NAMES),
                    "age": rng.randint(18, 24),
                    "start": rng.randint(0, 50),
                    "phones": [],
                }
            )
        # template
        tmpl_title = rng.choice(
            [
                "{open} {name} {e}",
                "{e} {name} {age} {e} {open}",
                "{open} - {city}",
                "{name} NEW {e}{e}",
                "{e}{e}{e} {open} {e}{e}{e}",
            ]
        )
        op_open = rng.choice(OP_OPEN)
        mids = rng.sample(OP_MID, rng.randint(2, 4))
        body_line = rng.choice(OP_BODY)
        rate_t = rng.choice(OP_RATE)
        r = rates(rng)
        e_op = rng.choice(EMOJI)
        contact_t = rng.choice(
            ["CALL {phone}", "Text {phone} now", "{phone} 24/7", "Booking: {phone}", "Call/Text {phone}"]
        )
        sep = rng.choice(["\n", " ", " ~ ", f" {e_op} "])
        # phones timeline (booking line)
        booking = []  # (from_day, to_day, phone)
        d = 0
        while d < DAYS:
            span = rng.randint(14, 28)
            booking.append((d, d + span, phones.new(circuit[0])))
            d += span
        overlap = 3 if kind == "A" else 0
        manager = phones.new(circuit[0]) if kind == "B" else None
        if kind == "B":
            for w in women:
                w["phones"] = [(0, phones.new(circuit[0]))]
                dd = rng.randint(20, 45)
                while dd < DAYS:
                    if rng.random() < 0.7:
                        w["phones"].append((dd, phones.new(rng.choice(circuit))))
                    dd += rng.randint(20, 45)
        srcs = rng.sample(SOURCES, rng.randint(1, 3))
        phone_style = rng.choice(["dash", "dot", "space", "paren", None])
        for w in women:
            stay = rng.randint(20, 45)
            end = min(DAYS, w["start"] + stay)
            ci = rng.randrange(len(circuit))
            d = w["start"]
            while d < end:
                city = circuit[ci % len(circuit)]
                leg = rng.randint(3, 6)
                for dd in range(d, min(end, d + leg)):
                    if rng.random() > 0.17:
                        continue
                    # phone(s)
                    if kind == "B":
                        cur = [p for (f, p) in w["phones"] if f <= dd][-1]
                        ph_txt = fmt_phone(rng, *cur, phone_style)
                        if rng.random() < 0.4:
                            ph_txt += f" or manager {fmt_phone(rng, *manager, phone_style)}"
                    else:
                        act = [p for (f, t, p) in booking if f <= dd < t]
                        ph_txt = fmt_phone(rng, *act[0], phone_style)
                        prev = [p for (f, t, p) in booking if t <= dd < t + overlap]
                        if prev and rng.random() < 0.7:
                            ph_txt = f"NEW NUMBER {ph_txt} (old {fmt_phone(rng, *prev[0], phone_style)})"
                    nm = w["name"]
                    extra = ""
                    if rng.random() < 0.1:  # two girls in one ad
                        other = rng.choice(women)
                        if other is not w:
                            extra = f" Also {other['name']} {other['age']} available."
                    parts = [op_open, body_line.format(name=nm, age=w["age"], city=city) + "." + extra]
                    parts += [m for m in mids if rng.random() < 0.85]
                    parts.append(rate_t.format(**r))
                    parts.append(contact_t.format(phone=ph_txt))
                    body = sep.join(parts)
                    if rng.random() < 0.05:
                        body += f"\nText {fmt_phone(rng, *hub_sms)} for daily specials!"
                    if rng.random() < 0.3:
                        body = small_edit(rng, body)
                    title = tmpl_title.format(open=op_open, name=nm, e=e_op, age=w["age"], city=city)
                    src = rng.choice(srcs)
                    fields = None
                    if src == "nightpages":
                        fields = {"age": str(w["age"]), "name": nm}
                    when = t0 + timedelta(days=dd, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
                    emit(src, title, body, when, city, w["pid"], nid, "op" + kind, fields)
                d += leg
                ci += 1

    order = list(range(len(ads)))
    rng.shuffle(order)
    with (out / "ads.jsonl").open("w", encoding="utf-8") as f:
        for i in sorted(order, key=lambda i: ads[i]["captured_at"]):
            f.write(json.dumps(ads[i], ensure_ascii=False) + "\n")
    seen = set()
    with (out / "truth.jsonl").open("w", encoding="utf-8") as f:
        for t in truth:
            if (t["source"], t["id"]) in seen:
                continue
            seen.add((t["source"], t["id"]))
            f.write(json.dumps(t) + "\n")
    return Corpus(out / "ads.jsonl", out / "truth.jsonl", len(ads), len(seen), len(phones.used))


def read_truth(corpus: Corpus) -> dict[tuple[str, str], dict[str, Any]]:
    """The truth of a generated corpus by (source, id)."""
    with corpus.truth.open(encoding="utf-8") as f:
        return {(row["source"], row["id"]): row for row in map(json.loads, f)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--popular-share", type=float, default=0.3)
    ap.add_argument("--scale", type=float, default=1.0, help="1: 250 independents and 40 operations")
    args = ap.parse_args()
    corpus = generate(args.out, scale=args.scale, popular_share=args.popular_share, seed=args.seed)
    print(f"{corpus.records} records, {corpus.ad_count} ads, {corpus.phones} phones", flush=True)


if __name__ == "__main__":
    main()
