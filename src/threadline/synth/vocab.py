"""Word lists and place tables the generator draws from.

Everything here is invented or public reference data (city names, area codes, ZIP prefixes). Phrase
lists copy the *structure* of real ads as described in the public literature on trafficking
indicators (third-party language, movement, youth, ethnicity, restricted movement, law-enforcement
avoidance), never a real ad's text, and stay non-explicit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADJECTIVES",
    "AREAS",
    "CITIES",
    "EMAIL_DOMAINS",
    "ETHNICITIES",
    "EXTRA_AREA_CODES",
    "GENERIC_PHRASES",
    "HANDLE_PLATFORMS",
    "HANDLE_WORDS",
    "HTML_NOISE",
    "INDEPENDENT_PHRASES",
    "INDICATOR_PHRASES",
    "MONTHS",
    "NAMES",
    "OPENERS",
    "OPERATION_PHRASES",
    "PHONE_PREFIXES",
    "PLAIN_ADJECTIVES",
    "PLAIN_EMOJI",
    "PLAIN_GENERIC_PHRASES",
    "PLAIN_OPERATION_PHRASES",
    "PLAIN_UPDATE_LINES",
    "POPULAR_EDITS",
    "POPULAR_TEXTS",
    "POPULAR_WEIGHTS",
    "SCRIPT_NOISE",
    "SIGN_EMOJI",
    "TITLE_MOVEMENT_MARKERS",
    "TITLE_TEMPLATES",
    "UPDATE_LINES",
    "WEEKDAYS",
    "City",
]


@dataclass(frozen=True, slots=True)
class City:
    """A place ads are posted in.

    ``name`` is how ads write the place and is not unique (there are three Springfields); ``key``
    is. ``area_codes`` are long-established local codes, so that every phonenumbers release this
    project allows validates them. ``zip_prefixes`` feed number-like distractors ("zip 77002");
    ``labels`` are the ways a site's location field shows the place; ``region`` groups the cities
    that circuits move between.
    """

    name: str
    key: str  # unique: "Springfield, MO", "Paddington, London"
    country: str  # "US" or "GB"
    region: str
    weight: float
    area_codes: tuple[str, ...]
    labels: tuple[str, ...]
    zip_prefixes: tuple[str, ...]
    roads: tuple[str, ...] = ()


def _us(
    name: str,
    state: str,
    region: str,
    weight: float,
    codes: str,
    zips: str,
    roads: str = "",
    extra_labels: tuple[str, ...] = (),
) -> City:
    labels = (f"{name}, {state}", name, name.lower(), f"{name} {state}", *extra_labels)
    return City(
        name=name,
        key=f"{name}, {state}",
        country="US",
        region=region,
        weight=weight,
        area_codes=tuple(codes.split()),
        labels=labels,
        zip_prefixes=tuple(zips.split()),
        roads=tuple(r.strip() for r in roads.split(",") if r.strip()),
    )


def _london(area: str, weight: float) -> City:
    labels: tuple[str, ...] = ("London", "London, UK", area)
    if area != "Central London":
        labels = (*labels, f"{area}, London")
    return City(
        name=area,
        key=area if area == "Central London" else f"{area}, London",
        country="GB",
        region="london",
        weight=weight,
        area_codes=("020",),
        labels=labels,
        zip_prefixes=(),
    )


# Weights are rough relative ad volumes; regions are the corridors circuits follow.
CITIES: tuple[City, ...] = (
    _us(
        "Houston",
        "TX",
        "texas",
        6.0,
        "713 281 832 346",
        "770",
        "I-45, I-10, Hwy 59, Beltway 8",
        ("Houston - Galleria", "Houston, Texas"),
    ),
    _us("Dallas", "TX", "texas", 5.0, "214 469 972", "752", "I-35, I-635, I-30"),
    _us("Fort Worth", "TX", "texas", 2.0, "817 682", "761", "I-35W, I-820"),
    _us("San Antonio", "TX", "texas", 3.0, "210", "782", "I-10, Loop 410"),
    _us("Austin", "TX", "texas", 2.5, "512 737", "787", "I-35, Hwy 183"),
    _us("El Paso", "TX", "texas", 1.0, "915", "799", "I-10"),
    _us("Corpus Christi", "TX", "texas", 0.6, "361", "784"),
    _us("Oklahoma City", "OK", "texas", 1.2, "405", "731", "I-40, I-35"),
    _us("Tulsa", "OK", "texas", 0.8, "918", "741", "I-44"),
    _us("New Orleans", "LA", "south", 1.5, "504", "701", "I-10"),
    _us("Baton Rouge", "LA", "south", 0.8, "225", "708", "I-12"),
    _us("Shreveport", "LA", "south", 0.5, "318", "711", "I-20"),
    _us("Atlanta", "GA", "south", 5.0, "404 678 770 470", "303", "I-285, I-75, I-85"),
    _us("Miami", "FL", "florida", 4.0, "305 786", "331", "I-95, US-1"),
    _us("Fort Lauderdale", "FL", "florida", 1.5, "954 754", "333", "I-95"),
    _us("Orlando", "FL", "florida", 2.5, "407 321", "328", "I-4"),
    _us("Tampa", "FL", "florida", 2.0, "813", "336", "I-275, I-4"),
    _us("Jacksonville", "FL", "florida", 1.2, "904", "322", "I-95, I-10"),
    _us("Charlotte", "NC", "south", 2.0, "704 980", "282", "I-77, I-85"),
    _us("Raleigh", "NC", "south", 1.2, "919 984", "276", "I-40"),
    _us("Nashville", "TN", "south", 1.8, "615 629", "372", "I-40, I-65"),
    _us("Memphis", "TN", "south", 1.2, "901", "381", "I-240"),
    _us("Birmingham", "AL", "south", 0.8, "205", "352", "I-65"),
    _us("Columbia", "SC", "south", 0.6, "803", "292", "I-26"),
    _us(
        "New York", "NY", "northeast", 6.0, "212 646 917", "100", "", ("Manhattan, NY", "Midtown, NY", "NYC")
    ),
    _us("Bronx", "NY", "northeast", 2.0, "718 347 929", "104"),
    _us("Brooklyn", "NY", "northeast", 2.5, "718 347 929", "112"),
    _us("Queens", "NY", "northeast", 2.0, "718 347 929", "113 114", "", ("Flushing, NY", "Jamaica, Queens")),
    _us("Long Island", "NY", "northeast", 1.0, "516 631", "117"),
    _us("Newark", "NJ", "northeast", 1.2, "973 862", "071", "I-78, NJ Tpke"),
    _us("Jersey City", "NJ", "northeast", 0.8, "201 551", "073"),
    _us("Philadelphia", "PA", "northeast", 3.0, "215 267", "191", "I-95, I-76"),
    _us("Pittsburgh", "PA", "northeast", 1.0, "412 878", "152", "I-376"),
    _us("Boston", "MA", "northeast", 2.0, "617 857", "021", "I-93, I-90"),
    _us("Providence", "RI", "northeast", 0.6, "401", "029", "I-95"),
    _us("Hartford", "CT", "northeast", 0.6, "860", "061", "I-84"),
    _us("Baltimore", "MD", "northeast", 1.5, "410 443 667", "212", "I-695, I-95"),
    _us("Washington", "DC", "northeast", 2.0, "202", "200", "I-495, I-395", ("DC", "Washington DC")),
    _us("Buffalo", "NY", "northeast", 0.6, "716", "142", "I-190"),
    _us("Chicago", "IL", "midwest", 5.0, "312 773 872", "606", "I-90, I-94, I-55"),
    _us("Detroit", "MI", "midwest", 2.0, "313", "482", "I-75, I-94, 8 Mile"),
    _us("Cleveland", "OH", "midwest", 1.0, "216", "441", "I-90"),
    _us("Columbus", "OH", "midwest", 1.2, "614", "432", "I-270, I-71"),
    _us("Cincinnati", "OH", "midwest", 1.0, "513", "452", "I-75"),
    _us("Indianapolis", "IN", "midwest", 1.2, "317", "462", "I-465"),
    _us("Milwaukee", "WI", "midwest", 0.8, "414", "532", "I-94"),
    _us("Minneapolis", "MN", "midwest", 1.2, "612", "554", "I-35W, I-94"),
    _us("St. Louis", "MO", "midwest", 1.2, "314", "631", "I-70, I-270", ("St Louis", "Saint Louis, MO")),
    _us("Kansas City", "MO", "midwest", 1.0, "816", "641", "I-435, I-70"),
    _us("Omaha", "NE", "midwest", 0.6, "402 531", "681", "I-80"),
    _us(
        "Los Angeles",
        "CA",
        "west",
        6.0,
        "213 310 323 424 818",
        "900",
        "I-405, I-10, I-5, I-110",
        ("LA", "Hollywood, CA", "Van Nuys, CA"),
    ),
    _us("San Diego", "CA", "west", 2.0, "619 858", "921", "I-5, I-8"),
    _us("San Francisco", "CA", "west", 2.0, "415 628", "941", "US-101, I-280", ("SF", "SF Bay Area")),
    _us("Oakland", "CA", "west", 1.0, "510", "946", "I-880, I-580"),
    _us("San Jose", "CA", "west", 1.2, "408 669", "951", "US-101, I-280"),
    _us("Sacramento", "CA", "west", 1.0, "916", "958", "I-80, I-5"),
    _us("Fresno", "CA", "west", 0.6, "559", "937", "Hwy 99"),
    _us("Las Vegas", "NV", "west", 3.0, "702 725", "891", "I-15, The Strip", ("Vegas", "Las Vegas Strip")),
    _us("Phoenix", "AZ", "west", 2.5, "602 480 623", "850", "I-10, I-17, Loop 101"),
    _us("Tucson", "AZ", "west", 0.6, "520", "857", "I-10"),
    _us("Denver", "CO", "west", 1.8, "303 720", "802", "I-25, I-70"),
    _us("Salt Lake City", "UT", "west", 0.8, "801 385", "841", "I-15"),
    _us("Seattle", "WA", "west", 1.8, "206 253 425", "981", "I-5, I-405"),
    _us("Portland", "OR", "west", 1.2, "503 971", "972", "I-5, I-84"),
    _us("Albuquerque", "NM", "west", 0.6, "505", "871", "I-25, I-40"),
    _us("Honolulu", "HI", "west", 0.5, "808", "968"),
    # London: only the Ofcom drama range 020 7946 0xxx is allowed, so all areas share "020".
    _london("Central London", 3.0),
    _london("Paddington", 1.0),
    _london("Heathrow", 0.6),
    _london("Croydon", 0.6),
    _london("Stratford", 0.6),
    _london("Canary Wharf", 0.5),
    _london("Kensington", 0.6),
    *(
        _us(name, state, region, float(weight), codes, zips, roads)
        for name, state, region, weight, codes, zips, roads in (
            line.split("|")
            for line in """
Wilmington|DE|northeast|0.3|302|198|I-95
Charleston|SC|south|0.4|843|294|I-26
Pensacola|FL|florida|0.3|850|325|I-10
Louisville|KY|south|0.6|502|402|I-65, I-264
Lexington|KY|south|0.4|859|405|I-75
Knoxville|TN|south|0.4|865|379|I-40
Chattanooga|TN|south|0.3|423|374|I-24
Jackson|MS|south|0.4|601|392|I-55
Biloxi|MS|south|0.3|228|395|I-10
Mobile|AL|south|0.3|251|366|I-65
Montgomery|AL|south|0.3|334|361|I-85
Fayetteville|AR|texas|0.3|479|727|I-49
Springfield|MO|midwest|0.3|417|658|I-44
Madison|WI|midwest|0.3|608|537|I-90
Green Bay|WI|midwest|0.2|920|543|I-43
St. Paul|MN|midwest|0.4|651|551|I-94
Des Moines|IA|midwest|0.4|515|503|I-235
Cedar Rapids|IA|midwest|0.2|319|524|I-380
Davenport|IA|midwest|0.2|563|528|I-74
Wichita|KS|midwest|0.4|316|672|I-135
Topeka|KS|midwest|0.2|785|666|I-70
Lawton|OK|texas|0.2|580|735|I-44
Lubbock|TX|texas|0.3|806|794|I-27
Midland|TX|texas|0.3|432|797|I-20
Abilene|TX|texas|0.2|325|796|I-20
Waco|TX|texas|0.3|254|767|I-35
College Station|TX|texas|0.3|979|778|Hwy 6
Conroe|TX|texas|0.3|936|773|I-45
Beaumont|TX|texas|0.3|409|777|I-10
Tyler|TX|texas|0.3|903|757|Loop 323
Wichita Falls|TX|texas|0.2|940|763|I-44
Las Cruces|NM|west|0.2|575|880|I-25
Flagstaff|AZ|west|0.2|928|860|I-40
Reno|NV|west|0.5|775|895|I-80
Chico|CA|west|0.2|530|959|Hwy 99
Stockton|CA|west|0.3|209|952|I-5
Bakersfield|CA|west|0.4|661|933|Hwy 99
Palm Springs|CA|west|0.3|760|922|I-10
Riverside|CA|west|0.5|951|925|I-215
San Bernardino|CA|west|0.4|909|924|I-10
Long Beach|CA|west|0.5|562|908|I-710
Anaheim|CA|west|0.5|714|928|I-5
Irvine|CA|west|0.4|949|926|I-405
Pasadena|CA|west|0.3|626|911|I-210
Santa Rosa|CA|west|0.2|707|954|US-101
Salinas|CA|west|0.2|831|939|US-101
Walnut Creek|CA|west|0.3|925|945|I-680
Eugene|OR|west|0.2|541|974|I-5
Olympia|WA|west|0.2|360|985|I-5
Spokane|WA|west|0.3|509|992|I-90
Boise|ID|west|0.3|208|837|I-84
Cheyenne|WY|west|0.1|307|820|I-25
Billings|MT|west|0.2|406|591|I-90
Fargo|ND|midwest|0.2|701|581|I-29
Sioux Falls|SD|midwest|0.2|605|571|I-29
Grand Island|NE|midwest|0.1|308|688|I-80
Rochester|NY|northeast|0.4|585|146|I-490
Syracuse|NY|northeast|0.3|315|132|I-81
Albany|NY|northeast|0.3|518|122|I-87
Binghamton|NY|northeast|0.2|607|139|I-81
Yonkers|NY|northeast|0.4|914|107|I-87
Poughkeepsie|NY|northeast|0.2|845|126|US-9
Scranton|PA|northeast|0.2|570|185|I-81
Allentown|PA|northeast|0.4|610 484|181|US-22
Harrisburg|PA|northeast|0.3|717|171|I-83
Erie|PA|northeast|0.2|814|165|I-90
Camden|NJ|northeast|0.3|856|081|I-676
Atlantic City|NJ|northeast|0.5|609|084|AC Expressway
New Brunswick|NJ|northeast|0.3|732|089|NJ Tpke
Elizabeth|NJ|northeast|0.3|908|072|NJ Tpke
Silver Spring|MD|northeast|0.4|301 240|209|I-495
Arlington|VA|northeast|0.5|703 571|222|I-395
Virginia Beach|VA|south|0.5|757|234|I-264
Richmond|VA|south|0.5|804|232|I-95, I-64
Roanoke|VA|south|0.2|540|240|I-581
Lynchburg|VA|south|0.2|434|245|US-29
Greensboro|NC|south|0.4|336|274|I-40
Asheville|NC|south|0.2|828|288|I-26
Fayetteville|NC|south|0.3|910|283|I-95
Greenville|NC|south|0.2|252|278|US-264
Greenville|SC|south|0.3|864|296|I-85
Augusta|GA|south|0.3|706|309|I-20
Savannah|GA|south|0.4|912|314|I-16
Macon|GA|south|0.2|478|312|I-75
Albany|GA|south|0.1|229|317|US-19
Gainesville|FL|florida|0.3|352|326|I-75
Daytona Beach|FL|florida|0.4|386|321|I-95
Fort Myers|FL|florida|0.4|239|339|I-75
Sarasota|FL|florida|0.3|941|342|I-75
Port St. Lucie|FL|florida|0.3|772|349|I-95
West Palm Beach|FL|florida|0.5|561|334|I-95
Lakeland|FL|florida|0.3|863|338|I-4
Gary|IN|midwest|0.3|219|464|I-65
Fort Wayne|IN|midwest|0.3|260|468|I-69
South Bend|IN|midwest|0.2|574|466|I-80
Lafayette|IN|midwest|0.2|765|479|I-65
Evansville|IN|midwest|0.2|812|477|I-69
Akron|OH|midwest|0.3|330|443|I-76
Toledo|OH|midwest|0.4|419|436|I-75
Parma|OH|midwest|0.2|440|441|I-480
Dayton|OH|midwest|0.4|937|454|I-75
Zanesville|OH|midwest|0.1|740|437|I-70
Troy|MI|midwest|0.3|248|480|I-75
Warren|MI|midwest|0.3|586|480|I-696
Ann Arbor|MI|midwest|0.3|734|481|US-23
Flint|MI|midwest|0.3|810|485|I-69
Kalamazoo|MI|midwest|0.2|269|490|I-94
Grand Rapids|MI|midwest|0.4|616|495|I-196
Lansing|MI|midwest|0.3|517|489|I-496
Saginaw|MI|midwest|0.2|989|486|I-675
Marquette|MI|midwest|0.1|906|498|US-41
Evanston|IL|midwest|0.3|847|602|I-94
Naperville|IL|midwest|0.3|630|605|I-88
Joliet|IL|midwest|0.3|708 815|604|I-55, I-80
Springfield|IL|midwest|0.2|217|627|I-55
Peoria|IL|midwest|0.2|309|616|I-74
East St. Louis|IL|midwest|0.3|618|622|I-64
Columbia|MO|midwest|0.2|573|652|I-70
Sedalia|MO|midwest|0.1|660|653|US-65
Mason City|IA|midwest|0.1|641|504|I-35
Sioux City|IA|midwest|0.1|712|511|I-29
Duluth|MN|midwest|0.2|218|558|I-35
St. Cloud|MN|midwest|0.2|320|563|I-94
Rochester|MN|midwest|0.2|507|559|US-52
Bloomington|MN|midwest|0.3|952 763|554|I-494
Eau Claire|WI|midwest|0.1|715|547|I-94
Kenosha|WI|midwest|0.2|262|531|I-94
Kansas City|KS|midwest|0.3|913|661|I-635
St. Charles|MO|midwest|0.2|636|633|I-70
Worcester|MA|northeast|0.3|508 774|016|I-290
Lowell|MA|northeast|0.3|978|018|I-495
Springfield|MA|northeast|0.3|413|011|I-91
Quincy|MA|northeast|0.3|339 781|021|I-93
New Haven|CT|northeast|0.4|203 475|065|I-95
Portland|ME|northeast|0.2|207|041|I-295
Manchester|NH|northeast|0.2|603|031|I-293
Burlington|VT|northeast|0.1|802|054|I-89
New Braunfels|TX|texas|0.2|830|781|I-35
Greensburg|PA|northeast|0.1|724|156|US-30
""".strip().splitlines()
        )
    ),
)

# More long-established US area codes, not tied to a city above: controllers' and movers' phones
# are often from "somewhere else", and the fictional range has only 100 numbers per code.
EXTRA_AREA_CODES: tuple[str, ...] = tuple(
    """302 843 850 502 859 865 423 601 228 251 334 479 417 636 262 608 920 651 763 952 319 515 563
    316 785 913 580 806 432 325 254 979 936 409 830 940 903 575 928 775 530 209 661 760 951 909
    562 714 949 626 707 831 925 541 360 509 208 307 406 701 605 308 585 315 518 607 914 845 570
    610 484 717 724 814 856 609 732 908 240 301 571 703 757 804 540 434 336 828 910 252 864 706
    912 478 229 352 386 239 941 772 561 863 219 260 574 765 812 330 419 440 937 740 248 586 734
    810 269 616 517 989 906 847 630 708 815 217 309 618 573 660 641 712 218 320 507 715 339 508
    774 978 413 203 475 207 603 802""".split()
)

# A small pool on purpose: unrelated people share these names, so a name alone must never link.
NAMES: tuple[str, ...] = (
    "Mia", "Ruby", "Jasmine", "Bella", "Destiny", "Diamond", "Candy", "Honey", "Angel", "Crystal",
    "Nikki", "Sasha", "Lexi", "Amber", "Chloe", "Kim", "Lily", "Luna", "Sofia", "Vanessa",
    "Valentina", "Jade", "Star", "Paris", "Lola", "Roxy", "Tiffany", "Alexis", "Aaliyah", "Maria",
    "Camila", "Yuki", "Mei", "Anya", "Nina", "Bianca", "Gigi", "Coco", "Mimi", "Daisy",
)  # fmt: skip

# Ethnicity and nationality mentions: an indicator in the literature when paired with movement.
ETHNICITIES: tuple[str, ...] = (
    "Latina", "Asian", "Korean", "Thai", "Japanese", "Brazilian", "Colombian", "Dominican",
    "Puerto Rican", "Russian", "Ukrainian", "Ebony", "Exotic", "Mixed", "Italian", "Polish",
)  # fmt: skip

OPENERS: tuple[str, ...] = (
    "Hi gentlemen, I'm {name}!",
    "Hey guys, my name is {name}.",
    "{name} here {emoji}",
    "It's {name} {emoji}",
    "Hola papi, soy {name}.",
    "I'm {name}, your new favorite.",
    "Hello, my name is {name} and I would love to meet you.",
    "Ask for {name}.",
    "Call me {name} {emoji}",
    "Hi loves, {name} is back!",
)

TITLE_TEMPLATES: tuple[str, ...] = (
    "{name} - new in {city}",
    "{emoji} {adj} {name} {emoji}",
    "{adj} {eth} {name} in {city}",
    "NEW IN TOWN!! {name} {emoji}",
    "{name} {age} {emoji} {area}",
    "{adj} and {adj2} {name}",
    "{name} visiting {city}",
    "{emoji}{emoji} {name} {emoji}{emoji}",
    "Sweet {name} - {area}",
    "{eth} {name} - available now",
    "{city} {emoji} {name}",
)

# Title templates containing one of these say the person has just arrived or is passing through.
TITLE_MOVEMENT_MARKERS: tuple[str, ...] = ("new in", "NEW IN TOWN", "visiting")

ADJECTIVES: tuple[str, ...] = (
    "Sweet", "Classy", "Petite", "Curvy", "Sexy", "Gorgeous", "Stunning", "Friendly", "Upscale",
    "Playful", "Elegant", "Exotic", "Tall", "Fun", "Discreet", "Real",
)  # fmt: skip

GENERIC_PHRASES: tuple[str, ...] = (
    "Sweet and discreet.",
    "Classy, fun and easy going.",
    "Let me make your day better.",
    "Upscale companion for the discerning gentleman.",
    "Friendly, clean and respectful.",
    "No rush, relaxing time.",
    "Great conversation and a warm smile.",
    "Best in town!",
    "Come see me, you won't regret it.",
    "Treat yourself today.",
    "Satisfaction guaranteed.",
    "Pretty face, nice smile.",
    "Your secret is safe with me.",
    "Unforgettable company.",
    "Available for dinner dates.",
    "Let's have a good time.",
    "Quality over quantity.",
    "The girl next door.",
    "Funny, sweet and very discreet.",
    "Private and comfortable place.",
    "Clean and safe location.",
    "Respectful gentlemen only.",
    "Don't miss out!",
    "Stress relief guaranteed.",
    "Fresh and clean every time.",
    "You will come back for more company.",
    "Easy to talk to.",
    "I love to travel and meet new people.",
    "Special for first timers.",
    "Outcall and incall available.",
)

# Independents write about their own terms: screening, deposits, reviews.
INDEPENDENT_PHRASES: tuple[str, ...] = (
    "Screening required, references welcome.",
    "Deposit required for first time clients.",
    "I set my own schedule.",
    "Check my reviews.",
    "Serious inquiries only.",
    "Please read my ad before texting.",
    "No blocked calls.",
    "Gentlemen 30+ preferred.",
    "Please be on time.",
    "I only see a few people a week.",
    "Independent, no agency.",
    "Full intro when you text: name, age, time.",
    "Ask about my weekend rates.",
    "I reply fastest by text.",
)

# Controllers' copy: short, salesy, the same lines across all the persons they post.
OPERATION_PHRASES: tuple[str, ...] = (
    "VIP service.",
    "Top quality.",
    "Best service in town.",
    "Beautiful girls, good service.",
    "Clean room, private parking.",
    "Walk-in welcome.",
    "Many specials today.",
    "Real photos 100%.",
    "Relax with us.",
    "Come and enjoy.",
    "Nice and friendly.",
    "Very good service.",
    "Open late.",
    "Easy parking.",
)

# Indicator phrases by category (public literature: third-party language, movement, youth,
# ethnicity/nationality, restricted movement and limited English, law-enforcement avoidance).
INDICATOR_PHRASES: dict[str, tuple[str, ...]] = {
    "third_party": (
        "New girls every week!",
        "Ask for the manager.",
        "Call the manager for booking.",
        "We have 3 girls available.",
        "Our girls are sweet and ready.",
        "Many girls to choose from.",
        "2 girls special.",
        "Manager answers the phone.",
        "She doesn't speak English, text only.",
        "Call our booking line.",
        "Ask about our other girls.",
    ),
    "movement": (
        "New in town!",
        "Just arrived.",
        "Visiting {city} for a few days only.",
        "Only here until {weekday}.",
        "Last days in town!",
        "Leaving soon.",
        "On tour ✈️",
        "Next stop {city2}.",
        "In town {date_range} only.",
    ),
    "youth": (
        "Young and fresh.",
        "Fresh face.",
        "New to this.",
        "First time here.",
        "Just turned 18.",
        "College girl.",
        "Petite and young.",
        "Sweet young thing 🍒",
    ),
    "ethnicity": (
        "{eth} beauty.",
        "Exotic {eth} girl.",
        "Sexy {eth}.",
        "Hot {eth} just arrived.",
    ),
    "restricted": (
        "Incall only.",
        "No outcall.",
        "Little English.",
        "Se habla español, poco inglés.",
        "Text only, no calls.",
        "Hotel incall only.",
    ),
    "trust": (
        "100% real.",
        "No police.",
        "No LE.",
        "Not LE, you must not be LE.",
        "Real pics guaranteed.",
        "Safe and discreet, no law enforcement.",
    ),
}

PHONE_PREFIXES: tuple[str, ...] = (
    "Call {phone}",
    "Txt {phone}",
    "📱 {phone}",
    "📱{phone}",
    "Call or text {phone}",
    "☎️ {phone}",
    "Text me: {phone}",
    "cell: {phone}",
    "Hit me up at {phone}",
    "TXT ONLY {phone}",
    "📲 {phone}",
    "WhatsApp {phone}",
    "For booking {phone}",
    "Call/Text ➡️ {phone}",
    "{phone} 📞",
    "Book now: {phone}",
    "My number: {phone}",
)

# Emoji codes: roses for money, cherry and candy for youth, crown for a controller, plane for travel.
SIGN_EMOJI: tuple[str, ...] = ("🌹", "🍒", "👑", "💗", "✈️", "💋", "🔥", "✨", "💕", "😘", "🍭", "💎")

HANDLE_PLATFORMS: dict[str, tuple[str, ...]] = {
    "snapchat": ("snap: {h}", "SC: {h}", "👻 {h}", "snapchat @{h}"),
    "instagram": ("IG: @{h}", "insta @{h}", "instagram: {h}"),
    "telegram": ("telegram @{h}", "tg: @{h}", "Telegram: {h}"),
    "twitter": ("twitter @{h}", "X: @{h}"),
    "onlyfans": ("OF: {h}", "onlyfans.com/{h}", "OnlyFans: {h}"),
}

HANDLE_WORDS: tuple[str, ...] = (
    "xo", "bby", "luv", "doll", "vip", "sweet", "baby", "official", "love", "queen", "kiss", "bae",
)  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")

HTML_NOISE: tuple[str, ...] = (
    "<br>",
    "<br/>",
    "<b>NEW</b>",
    "&nbsp;",
    "<p></p>",
    "&amp;",
    "<font color=red>HOT</font>",
    "<i>xoxo</i>",
    "<span style='color:pink'>♥</span>",
)

# Hostile text that must only ever be shown escaped.
SCRIPT_NOISE: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:void(0)'>pics</a>",
    "<iframe src=about:blank></iframe>",
)

UPDATE_LINES: tuple[str, ...] = (
    "UPDATE: available now!",
    "Back in town, same number.",
    "Rates changed, text for details.",
    "Last day!",
    "New pics added.",
    "Still here this week.",
)

# Popular copy-paste texts (issue 12): well-performing ads and ad-writing guides that many
# unrelated independents copy, verbatim or with small edits, each under her own name, number,
# photos and city. A shared text is therefore no sign of a shared writer. Invented and non-explicit,
# and free of the lexicon's indicator phrases, so that copying one changes linking, not scoring.
POPULAR_TEXTS: tuple[tuple[str, ...], ...] = (
    (
        "Looking for a sweet escape from your busy day?",
        "I offer a relaxed, unhurried time with genuine conversation and a warm smile.",
        "I am easy going, well mannered and always discreet.",
        "I take my time and never rush.",
        "My place is private, clean and easy to find.",
        "I love meeting new people and making them feel at ease.",
        "Please text with your name, the time you would like and for how long.",
        "Serious gentlemen only, no games please.",
        "I look forward to hearing from you.",
    ),
    (
        "Welcome to my page and thank you for stopping by.",
        "I am a friendly, down to earth lady who loves good company.",
        "New friends are always welcome.",
        "An upscale experience at a reasonable rate.",
        "I keep a small, regular circle of friends.",
        "Punctual, polite and easy to talk to.",
        "Text me to set up our time together.",
        "I answer quickly during the day.",
    ),
    (
        "Tired of the same old routine?",
        "Let me be the highlight of your week.",
        "Clean, comfortable and private setting.",
        "Good vibes and great company every time.",
        "I never clock watch.",
        "Respectful men only, please be polite.",
        "Showers available before and after.",
        "Text first, no blocked numbers.",
        "See you soon!",
    ),
    (
        "Classy lady with a kind heart.",
        "Available most days and some late nights.",
        "Your comfort and privacy come first.",
        "Come relax and forget about the world for a while.",
        "I enjoy good music, good food and good company.",
        "Same day appointments when I can.",
        "Text me for details.",
    ),
    (
        "Beautiful, intelligent and easy to be around.",
        "I enjoy meeting gentlemen who appreciate quality time.",
        "Dinner dates, a travel companion or a quiet evening in.",
        "Discretion assured.",
        "I am well read and love a good laugh.",
        "Advance notice is appreciated but not required.",
        "Contact me by text with a short introduction.",
        "Looking forward to meeting you.",
    ),
)
# How many copiers each text has: a few texts are far more popular than the rest.
POPULAR_WEIGHTS: tuple[float, ...] = (0.32, 0.26, 0.2, 0.14, 0.08)
assert len(POPULAR_WEIGHTS) == len(POPULAR_TEXTS)

# Small edits a copier makes to her copy: one word for another (where the word occurs).
POPULAR_EDITS: tuple[tuple[str, str], ...] = (
    ("gentlemen", "gents"),
    ("Text", "Txt"),
    ("text", "txt"),
    ("lady", "woman"),
    ("always", "very"),
    ("quickly", "fast"),
    ("please", "pls"),
    ("Please", "Pls"),
    ("your", "ur"),
    ("and", "&"),
    ("time", "moment"),
    ("friendly", "sweet"),
    ("men", "guys"),
    ("quiet", "cozy"),
)

# What operations that write no indicator phrase (issue 12) draw from: the stock lists without
# anything the shipped lexicon matches (tests/synth/test_synth.py checks their ads against it).
PLAIN_GENERIC_PHRASES: tuple[str, ...] = tuple(
    p for p in GENERIC_PHRASES if p not in ("Satisfaction guaranteed.", "Clean and safe location.")
)
PLAIN_OPERATION_PHRASES: tuple[str, ...] = tuple(p for p in OPERATION_PHRASES if p != "Real photos 100%.")
PLAIN_ADJECTIVES: tuple[str, ...] = tuple(a for a in ADJECTIVES if a != "Exotic")
PLAIN_EMOJI: tuple[str, ...] = ("💋", "🔥", "✨", "💕", "😘", "💎")
PLAIN_UPDATE_LINES: tuple[str, ...] = tuple(
    line for line in UPDATE_LINES if line not in ("Back in town, same number.", "Last day!")
)

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS: tuple[str, ...] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

AREAS: tuple[str, ...] = (
    "downtown",
    "near the airport",
    "uptown",
    "by the mall",
    "medical center",
    "east side",
    "west side",
    "north side",
    "near the stadium",
    "city center",
)
