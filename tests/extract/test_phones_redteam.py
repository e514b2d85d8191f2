"""A red-team pass on phone extraction (issue 13): short ad snippets written by hand, one at a time.

Each snippet is written the way an advertiser in that country writes a number in an ad (national
groupings, trunk and mobile prefixes, number words in the local language, look-alike letters,
symbols and emoji between the groups), not from any renderer; the second half is text full of
digits that are not phones (prices, dates, times, stats, ids, postcodes, masked numbers). The
expected values are E.164 forms checked against `phonenumbers` (first test), never outputs of the
extractor.

Numbers: North America 555-01xx; London and Manchester from Ofcom's drama ranges (020 7946 0xxx,
0161 496 0xxx); UK mobiles ``07911 123456``/``07400 123456`` (Ofcom's 07700 900xxx drama range is
refused by `phonenumbers`); Australia from its fiction ranges ((02) 5550 xxxx, 0491 570 1xx);
elsewhere the example-like numbers `phonenumbers` documents (``0176 12345678``, ``347 123 4567``,
``612 34 56 78``, ``98765 43210``, ``11 2345-6789``, ``55 1234 5678``).
"""

from __future__ import annotations

import phonenumbers
import pytest

from threadline.extract.phones import find_phones


def phones(text: str, region: str) -> list[str]:
    return sorted(f.value for f in find_phones([("body", text)], region))


def styles_of(text: str, region: str) -> set[str]:
    return {s for f in find_phones([("body", text)], region) for s in f.detail["styles"]}


US1, US2, US3, US4, US5, US6 = (
    "+13125550123",
    "+17025550147",
    "+12125550188",
    "+14155550110",
    "+13055550171",
    "+18325550166",
)
CA1, CA2, CA3, CA4 = "+14165550134", "+16045550188", "+15145550192", "+16135550110"
GB_LON, GB_MAN, GB_M1, GB_M2 = "+442079460123", "+441614960321", "+447911123456", "+447400123456"
DE_M1, DE_M2, DE_BER, DE_MUC, DE_CGN = (
    "+4915784627939",
    "+4917612345678",
    "+493012345678",
    "+498912345678",
    "+492211234567",
)
IT_M1, IT_M2, IT_M3 = "+393471234567", "+393331234567", "+393201234567"
IT_MI, IT_RM = "+390212345678", "+390612345678"
ES_M1, ES_M2, ES_MAD, ES_BCN = "+34612345678", "+34678901234", "+34911234567", "+34932345678"
IN_M1, IN_M2, IN_M3, IN_MUM = "+919876543210", "+918123456789", "+917012345678", "+912223456789"
AU_M1, AU_M2, AU_M3, AU_SYD = "+61491570156", "+61491570110", "+61412345678", "+61255501234"
AR_MOB, AR_BA, AR_CBA_MOB, AR_CBA = "+5491123456789", "+541123456789", "+5493514123456", "+543514123456"
MX_CDMX, MX_PUE, MX_GDL, MX_MTY = "+525512345678", "+522221234567", "+523312345678", "+528112345678"

# (ad's region, snippet, the numbers in it)
POSITIVE: list[tuple[str, str, tuple[str, ...]]] = [
    # --- United States -------------------------------------------------------------------------
    ("US", "new in town 🍒 312.555.0123 txt only", (US1,)),
    ("US", "call me 3one2 five5five 01two3 no pimps", (US1,)),
    ("US", "TXT ME: three12-555-zero123", (US1,)),
    ("US", "My # is 312 ★ 555 ★ 0123", (US1,)),
    ("US", "3-1-2-5-5-5-0-1-2-3 ask for Candy", (US1,)),
    ("US", "thr33 0n3 tw0 f1v3 f1v3 f1v3 z3r0 0n3 tw0 thr33", (US1,)),
    ("US", "Text📲3125550123 now", (US1,)),
    ("US", "312| 555| 0123 (text first)", (US1,)),
    ("US", "702-5five5-O147 ask for Lexi", (US2,)),
    ("US", "(702) 555 - 0 1 4 7 incall only", (US2,)),
    ("US", "seven zero two, five five five, zero one four seven", (US2,)),
    ("US", "702 fivefivefive 0147 👅", (US2,)),
    ("US", "7️⃣0️⃣2️⃣ 5️⃣5️⃣5️⃣ 0️⃣1️⃣4️⃣7️⃣", (US2,)),
    ("US", "7o2.555.o147 call now", (US2,)),
    ("US", "seven oh too five five five oh won for seven", (US2,)),
    ("US", "call 7 zero 2 five 5 five zero 1 four 7 daddy", (US2,)),
    ("US", "(seven 0 two) 555-0147", (US2,)),
    ("US", "702 555 O1 47 outcall", (US2,)),
    ("US", "two-one-two-five-five-five-zero-one-eight-eight", (US3,)),
    ("US", "212.five.five.five.0188", (US3,)),
    ("US", "two twelve, five five five, oh one eighty eight", (US3,)),
    ("US", "2 1 2 - 5 5 5 - 0 1 8 8", (US3,)),
    ("US", "four fifteen 555 01 10 no texts", (US4,)),
    ("US", "4one5 555 o11o", (US4,)),
    ("US", "4 1 5 👅 5 5 5 👅 0 1 1 0", (US4,)),
    ("US", "415~555~0110~ text only", (US4,)),
    ("US", "305//555//0171 miami", (US5,)),
    ("US", "three oh five, five five five, oh one seven one", (US5,)),
    ("US", "three zero five triple five zero one seven one", (US5,)),
    ("US", "3O5 5S5 O17l", (US5,)),
    ("US", "eight three two. five five five. zero one six six", (US6,)),
    ("US", "832 555 0 one 6 6", (US6,)),
    ("US", "832 5550 166 houston", (US6,)),
    ("US", "83 25 55 01 66", (US6,)),
    ("US", "832-555-01-66", (US6,)),
    ("US", "eight thirty two five fifty five zero one sixty six", (US6,)),
    ("US", "eightthreetwo fivefivefive zeroonesixsix", (US6,)),
    ("US", "+1 (832) 555-0166", (US6,)),
    ("US", "1-eight three two-555-0166", (US6,)),
    ("US", "call 312 555 0123 or my friend 702 555 0147", (US1, US2)),
    ("US", "312 555 zero1twentythree", (US1,)),
    ("US", "seven0two 555 zero1fortyseven", (US2,)),
    ("US", "312‐555‐0123 (unicode hyphens)", (US1,)),
    ("US", "312–555–0123 en dash", (US1,)),
    ("US", "312 . 555 . 0123", (US1,)),
    ("US", "312=555=0123", (US1,)),
    ("US", "☎ 312 💦 555 💦 0123", (US1,)),
    ("US", "Call:(312)5550123", (US1,)),
    # --- Canada --------------------------------------------------------------------------------
    ("CA", "416.555.0134 🍁 Toronto incall", (CA1,)),
    ("CA", "four one six - five five five - zero one three four", (CA1,)),
    ("CA", "4I6 5S5 OI34", (CA1,)),
    ("CA", "416–555–0134", (CA1,)),
    ("CA", "six oh four five five five oh one eight eight", (CA2,)),
    ("CA", "604*555*0188 vancouver", (CA2,)),
    ("CA", "6o4 555 o188", (CA2,)),
    ("CA", "five one four, 555, zero one nine two", (CA3,)),
    ("CA", "514-555-01-92 Montréal", (CA3,)),
    ("CA", "six thirteen five fifty five oh one ten", (CA4,)),
    ("CA", "(613)555\u20110110", (CA4,)),
    # --- United Kingdom ------------------------------------------------------------------------
    ("GB", "07911 123456 no withheld", (GB_M1,)),
    ("GB", "07911123456", (GB_M1,)),
    ("GB", "0791 112 3456 text first", (GB_M1,)),
    ("GB", "079 111 23 456", (GB_M1,)),
    ("GB", "oh seven nine one one, one two three four five six", (GB_M1,)),
    ("GB", "zero seven nine double one, one two three four five six", (GB_M1,)),
    ("GB", "o7911 l23456", (GB_M1,)),
    ("GB", "+44 7911 123456", (GB_M1,)),
    ("GB", "+44 (0) 7911 123 456", (GB_M1,)),
    ("GB", "0044 7911 123456", (GB_M1,)),
    ("GB", "zero seven nine one one 123456", (GB_M1,)),
    ("GB", "07911 123 four five six", (GB_M1,)),
    ("GB", "07400 123 456 xx", (GB_M2,)),
    ("GB", "07400-123-456", (GB_M2,)),
    ("GB", "oh seven four double oh, one two three, four five six", (GB_M2,)),
    ("GB", "0 7 4 0 0 1 2 3 4 5 6", (GB_M2,)),
    ("GB", "O74OO 123456", (GB_M2,)),
    ("GB", "020 7946 0123 central london", (GB_LON,)),
    ("GB", "0207 946 0123", (GB_LON,)),
    ("GB", "(020) 7946 0123", (GB_LON,)),
    ("GB", "+44 20 7946 0123", (GB_LON,)),
    ("GB", "0161 496 0321 manchester", (GB_MAN,)),
    ("GB", "oh one six one, four nine six, oh three two one", (GB_MAN,)),
    ("GB", "+44 161 496 0321", (GB_MAN,)),
    # --- Germany -------------------------------------------------------------------------------
    ("DE", "0157 84627939 nur SMS", (DE_M1,)),
    ("DE", "0157/84627939", (DE_M1,)),
    ("DE", "0157 / 846 279 39", (DE_M1,)),
    ("DE", "+49 157 84627939", (DE_M1,)),
    ("DE", "+49 (0) 157 846 279 39", (DE_M1,)),
    ("DE", "0049 157 8462 7939", (DE_M1,)),
    ("DE", "0176-123 456 78", (DE_M2,)),
    ("DE", "0176 / 123 45 678", (DE_M2,)),
    ("DE", "null eins sieben sechs, eins zwei drei vier fünf sechs sieben acht", (DE_M2,)),
    ("DE", "0 1 7 6 1 2 3 4 5 6 7 8", (DE_M2,)),
    ("DE", "O176 I2345678", (DE_M2,)),
    ("DE", "Tel.: 0176 – 123 456 78", (DE_M2,)),
    ("DE", "Handy: 0176.12345678", (DE_M2,)),
    ("DE", "WhatsApp +4917612345678", (DE_M2,)),
    ("DE", "null eins fuenf sieben 84627939", (DE_M1,)),
    ("DE", "030 / 12 34 56 78", (DE_BER,)),
    ("DE", "030-12345678", (DE_BER,)),
    ("DE", "(030) 12345678 Berlin Mitte", (DE_BER,)),
    ("DE", "+49 30 12345678", (DE_BER,)),
    ("DE", "089 / 123 456 78", (DE_MUC,)),
    ("DE", "0221/1234567 Köln", (DE_CGN,)),
    # --- Italy ---------------------------------------------------------------------------------
    ("IT", "347 123 4567 solo whatsapp", (IT_M1,)),
    ("IT", "347.123.4567", (IT_M1,)),
    ("IT", "347-1234567", (IT_M1,)),
    ("IT", "347/1234567", (IT_M1,)),
    ("IT", "+39 347 123 4567", (IT_M1,)),
    ("IT", "0039 347 1234567", (IT_M1,)),
    ("IT", "tre quattro sette uno due tre quattro cinque sei sette", (IT_M1,)),
    ("IT", "3 4 7 1 2 3 4 5 6 7", (IT_M1,)),
    ("IT", "347 12 34 567", (IT_M1,)),
    ("IT", "333 1234567 no anonimi", (IT_M2,)),
    ("IT", "333.123.45.67", (IT_M2,)),
    ("IT", "tre tre tre uno due tre quattro cinque sei sette", (IT_M2,)),
    ("IT", "3 3 3 - 1 2 3 - 4 5 6 7", (IT_M2,)),
    ("IT", "320 123 45 67", (IT_M3,)),
    ("IT", "02 1234 5678 Milano centro", (IT_MI,)),
    ("IT", "02/12345678", (IT_MI,)),
    ("IT", "+39 02 12345678", (IT_MI,)),
    ("IT", "06 12345678 Roma", (IT_RM,)),
    ("IT", "06-1234-5678", (IT_RM,)),
    # --- Spain ---------------------------------------------------------------------------------
    ("ES", "612 34 56 78 solo whatsapp", (ES_M1,)),
    ("ES", "612345678", (ES_M1,)),
    ("ES", "612 345 678", (ES_M1,)),
    ("ES", "6 1 2 3 4 5 6 7 8", (ES_M1,)),
    ("ES", "+34 612 34 56 78", (ES_M1,)),
    ("ES", "0034 612345678", (ES_M1,)),
    ("ES", "seis uno dos, tres cuatro, cinco seis, siete ocho", (ES_M1,)),
    ("ES", "6I2 345 678", (ES_M1,)),
    ("ES", "612-34-56-78", (ES_M1,)),
    ("ES", "678 90 12 34", (ES_M2,)),
    ("ES", "678.90.12.34", (ES_M2,)),
    ("ES", "678-901-234", (ES_M2,)),
    ("ES", "seis siete ocho nueve cero uno dos tres cuatro", (ES_M2,)),
    ("ES", "91 123 45 67 Madrid", (ES_MAD,)),
    ("ES", "911 23 45 67", (ES_MAD,)),
    ("ES", "93 234 56 78 Barcelona", (ES_BCN,)),
    # --- India ---------------------------------------------------------------------------------
    ("IN", "98765 43210 call/whatsapp", (IN_M1,)),
    ("IN", "9876543210 genuine", (IN_M1,)),
    ("IN", "+91 98765 43210", (IN_M1,)),
    ("IN", "+91-9876543210", (IN_M1,)),
    ("IN", "09876543210", (IN_M1,)),
    ("IN", "98765-43210", (IN_M1,)),
    ("IN", "987 654 3210", (IN_M1,)),
    ("IN", "9876 543 210", (IN_M1,)),
    ("IN", "eight one two three four five six seven eight nine", (IN_M2,)),
    ("IN", "98 76 54 32 10", (IN_M1,)),
    ("IN", "0091 98765 43210", (IN_M1,)),
    ("IN", "81234 56789 independent", (IN_M2,)),
    ("IN", "81234-56789", (IN_M2,)),
    ("IN", "eight one two three four 56789", (IN_M2,)),
    ("IN", "70123 45678", (IN_M3,)),
    ("IN", "7O123 4S678", (IN_M3,)),
    ("IN", "022 2345 6789 andheri", (IN_MUM,)),
    ("IN", "022-23456789", (IN_MUM,)),
    ("IN", "+91 22 2345 6789", (IN_MUM,)),
    # --- Australia -----------------------------------------------------------------------------
    ("AU", "0491 570 156 no private numbers", (AU_M1,)),
    ("AU", "0491570156", (AU_M1,)),
    ("AU", "0491-570-156", (AU_M1,)),
    ("AU", "04 9157 0156", (AU_M1,)),
    ("AU", "+61 491 570 156", (AU_M1,)),
    ("AU", "+61 (0) 491 570 156", (AU_M1,)),
    ("AU", "zero four nine one, five seven oh, one five six", (AU_M1,)),
    ("AU", "oh four nine one five seven oh one five six", (AU_M1,)),
    ("AU", "0491 570 11O", (AU_M2,)),
    ("AU", "0412 345 678 txt", (AU_M3,)),
    ("AU", "04 1234 5678", (AU_M3,)),
    ("AU", "0412 345 six seven eight", (AU_M3,)),
    ("AU", "(02) 5550 1234 Surry Hills", (AU_SYD,)),
    ("AU", "02 5550 1234", (AU_SYD,)),
    ("AU", "+61 2 5550 1234", (AU_SYD,)),
    ("AU", "0011 44 7911 123456 (UK number)", (GB_M1,)),
    # --- Argentina -----------------------------------------------------------------------------
    ("AR", "11 2345-6789 Palermo", (AR_BA,)),
    ("AR", "(11) 2345-6789", (AR_BA,)),
    ("AR", "011 2345-6789", (AR_BA,)),
    ("AR", "11 15 2345-6789 whatsapp", (AR_MOB,)),
    ("AR", "(011) 15-2345-6789", (AR_MOB,)),
    ("AR", "+54 9 11 2345-6789", (AR_MOB,)),
    ("AR", "+5491123456789", (AR_MOB,)),
    ("AR", "549 11 2345 6789", (AR_MOB,)),
    ("AR", "+54 11 15 2345 6789", (AR_MOB,)),
    ("AR", "uno uno dos tres cuatro cinco seis siete ocho nueve", (AR_BA,)),
    ("AR", "0351 15 412-3456 Córdoba", (AR_CBA_MOB,)),
    ("AR", "0351 412-3456", (AR_CBA,)),
    # --- Mexico --------------------------------------------------------------------------------
    ("MX", "55 1234 5678 solo whats", (MX_CDMX,)),
    ("MX", "55-1234-5678", (MX_CDMX,)),
    ("MX", "5512345678", (MX_CDMX,)),
    ("MX", "+52 55 1234 5678", (MX_CDMX,)),
    ("MX", "+52 1 55 1234 5678", (MX_CDMX,)),
    ("MX", "044 55 1234 5678", (MX_CDMX,)),
    ("MX", "cinco cinco uno dos tres cuatro cinco seis siete ocho", (MX_CDMX,)),
    ("MX", "cincuenta y cinco doce treinta y cuatro cincuenta y seis setenta y ocho", (MX_CDMX,)),
    ("MX", "222 123 4567 Puebla", (MX_PUE,)),
    ("MX", "(222) 123-4567", (MX_PUE,)),
    ("MX", "33 1234 5678 Guadalajara", (MX_GDL,)),
    ("MX", "33.12.34.56.78", (MX_GDL,)),
    ("MX", "81 1234 5678 Monterrey", (MX_MTY,)),
    ("MX", "tel. 81-12-34-56-78 whats", (MX_MTY,)),
    # --- more shapes, any country ----------------------------------------------------------------
    ("US", "call/text:3125550123 anytime", (US1,)),
    ("US", "#3125550123 #newintown", (US1,)),
    ("US", "Seven-Zero-Two | Five-Five-Five | Zero-One-Four-Seven", (US2,)),
    ("US", "SEVEN O TWO FIVE FIVE FIVE O ONE FOUR SEVEN", (US2,)),
    ("US", "seven 0 2 five 5 5 O 1 4 7", (US2,)),
    ("US", "702 - fivefive5 - 0onefour7", (US2,)),
    ("US", "7o2 5s5 o147", (US2,)),
    ("US", "SEVEN-OH-TWO/FIVE-FIVE-FIVE/OH-ONE-FOUR-SEVEN", (US2,)),
    ("US", "702five550147", (US2,)),
    ("US", "call7025550147babe", (US2,)),
    ("US", "📞702📞555📞0147", (US2,)),
    ("US", "702·555·0147", (US2,)),
    ("US", "702／555／0147", (US2,)),
    ("US", "312 555 0123 / 702 555 0147", (US1, US2)),
    ("US", "wa.me/13125550123", (US1,)),
    ("US", "Mia 25 yo 312 555 0123", (US1,)),
    ("US", "$200 3125550123", (US1,)),
    ("US", "3⃣1⃣2⃣5⃣5⃣5⃣0⃣1⃣2⃣3⃣", (US1,)),
    ("US", "license #2017-004512 call 312 555 0123", (US1,)),
    ("GB", "WhatsApp: 44 7911 123456", (GB_M1,)),
    ("GB", "(+44) 7911 123456", (GB_M1,)),
    ("GB", "+44(0)7911-123-456", (GB_M1,)),
    ("GB", "+44 07911 123456", (GB_M1,)),
    ("GB", "07911 123456 / 07400 123456", (GB_M1, GB_M2)),
    ("GB", "07911.123.456", (GB_M1,)),
    ("AU", "+61 0491 570 156", (AU_M1,)),
    ("AU", "0491 five seven zero 156", (AU_M1,)),
    ("DE", "+49 (0)176 / 123 456 78", (DE_M2,)),
    ("DE", "+49 0176 12345678", (DE_M2,)),
    ("DE", "nulleinssiebensechs 12345678", (DE_M2,)),
    ("DE", "0176 - 12 34 56 78", (DE_M2,)),
    ("IT", "+39 347 12 34 567", (IT_M1,)),
    ("IT", "tre-quattro-sette uno-due-tre quattro-cinque-sei-sette", (IT_M1,)),
    # Italian and Spanish "o" is "or": never the last 0 of the number before it.
    ("IT", "chiamami al 347 1234567 o scrivimi", (IT_M1,)),
    ("IT", "347 1234567 o 02 12345678", (IT_M1, IT_MI)),
    ("IT", "347 1234567 e 333 1234567", (IT_M1, IT_M2)),
    ("AR", "llamame 11 2345 6789 o 11 6789 2345", (AR_BA, "+541167892345")),
    ("ES", "wa.me/34612345678", (ES_M1,)),
    ("ES", "6.1.2.3.4.5.6.7.8", (ES_M1,)),
    ("ES", "seis uno dos 34 56 78", (ES_M1,)),
    ("IN", "९८७६५ ४३२१०", (IN_M1,)),
    ("IN", "wa.me/919876543210", (IN_M1,)),
    ("MX", "+52 (55) 1234 5678", (MX_CDMX,)),
    ("MX", "55 12 34 56 78", (MX_CDMX,)),
    ("MX", "cincuenta y cinco, doce, treinta y cuatro, cincuenta y seis, setenta y ocho", (MX_CDMX,)),
    ("AR", "api.whatsapp.com/send?phone=5491123456789", (AR_MOB,)),
    ("AR", "once veintitres cuarenta y cinco sesenta y siete ochenta y nueve", (AR_BA,)),
    # Pairs and hundreds in words, as locals say them: Spanish hundreds ("seiscientos doce"),
    # Italian and German teens, tens and their one-word compounds.
    ("ES", "seiscientos doce, treinta y cuatro, cincuenta y seis, setenta y ocho", (ES_M1,)),
    ("ES", "seiscientos doce 34 56 78", (ES_M1,)),
    ("ES", "seiscientos setenta y ocho, noventa, doce, treinta y cuatro", (ES_M2,)),
    ("ES", "novecientos once veintitres cuarenta y cinco sesenta y siete", (ES_MAD,)),
    ("ES", "seiscientas doce, 345 678", (ES_M1,)),
    ("DE", "null eins sieben sechs, zwölf, vierunddreißig, sechsundfünfzig, achtundsiebzig", (DE_M2,)),
    ("DE", "null eins fünf sieben, vierundachtzig, zweiundsechzig, neunundsiebzig, neununddreißig", (DE_M1,)),
    ("DE", "null dreißig zwölf vierunddreißig sechsundfünfzig achtundsiebzig", (DE_BER,)),
    ("IT", "tre quattro sette, dodici, trentaquattro, cinquantasei, sette", (IT_M1,)),
    ("IT", "tre quattro sette uno due tre quarantacinque sessantasette", (IT_M1,)),
    ("IT", "zero due, dodici, trentaquattro, cinquantasei, settantotto", (IT_MI,)),
    ("IT", "tre tre tre, dodici, trentaquattro, cinque, sei, sette", (IT_M2,)),
    # Numbers beside prices, stats, hours and each other.
    ("US", "312 555 0123 ☎️ 24/7", (US1,)),
    ("US", "312 555 0123 2 girls available", (US1,)),
    ("US", "age 22 312 555 0123", (US1,)),
    ("US", "150 312-555-0123", (US1,)),
    ("US", "22yo 5'5 125lbs 36dd-26-36 text 312 555 0123", (US1,)),
    ("US", "3125550123/7025550147", (US1, US2)),
    ("US", "incall 200 outcall 300 312 555 0123", (US1,)),
    ("US", "40 312 555 0123 36", (US1,)),
    ("GB", "07911 123456 (text only) or 0207 946 0123", (GB_M1, GB_LON)),
    ("GB", "Tel: 07911 123 456 | 24/7 | £150", (GB_M1,)),
    ("AU", "04 91 57 01 56", (AU_M1,)),
    ("IN", "9876543210, 8123456789", (IN_M1, IN_M2)),
    # "Rs", "EUR", "h" before an amount belong to it, not to the number before them.
    ("IN", "Call Sapna 98765-43210 Rs.5000", (IN_M1,)),
    ("IN", "81234 56789 Rs 3000 only", (IN_M2,)),
    ("IT", "347 1234567 h 24", (IT_M1,)),
    ("IT", "disponibile h24 347 1234567", (IT_M1,)),
    ("DE", "0176 12345678 EUR 150", (DE_M2,)),
    # Germans group 015x mobiles after the four-digit prefix, whatever `phonenumbers` prints.
    ("DE", "0157 84627939", (DE_M1,)),
    ("DE", "0176 12345678 0157 84627939", (DE_M2, DE_M1)),
    ("DE", "0157 84627939 0176 12345678", (DE_M2, DE_M1)),
    # Mexico's old mobile "1" after the country code, still in WhatsApp links and old ads.
    ("MX", "wa.me/5215512345678", (MX_CDMX,)),
    ("MX", "+521 55 1234 5678", (MX_CDMX,)),
    ("US", "mexicana, whatsapp +5215512345678", (MX_CDMX,)),
    # Quotes, brackets and arrows around groups; "oh" counts among spelled words; "area code".
    ("US", "702 'five five five' 0147", (US2,)),
    ("US", '"702" "555" "0147"', (US2,)),
    ("US", "[702] [555] [0147]", (US2,)),
    ("US", "702 → 555 → 0147", (US2,)),
    ("US", "seven oh to 555 oh won for seven", (US2,)),
    ("US", "area code 702 then 555 0147", (US2,)),
    ("US", "area code 702, 555-0147", (US2,)),
    ("US", "Area code 702 number 555 0147", (US2,)),
    # Words after a whole number that a masking site also writes, here with nothing to show.
    ("US", "Call me now 702-555-0147 see you soon", (US2,)),
    ("US", "702-555-0147 view my pics", (US2,)),
    ("US", "702-555-0147 ver fotos", (US2,)),
    ("US", "area code is 702 # is 555 0147", (US2,)),
    ("US", "s1x 0h f0ur 555 0188", ("+16045550188",)),
    # Leet words glued to plain words and digits: "zer0" + "one" + "4" + "two".
    ("US", "702 555 zer0one4two", ("+17025550142",)),
    ("US", "seven0two f1ve5five 0147", (US2,)),
    ("US", "31ght 3 tw0 555 0166", (US6,)),
    ("GB", "o seven nine double one one two three four five six", (GB_M1,)),
    ("GB", "07911 onetwothree fourfivesix", (GB_M1,)),
    ("GB", "+44 (0) 79 11 12 34 56", (GB_M1,)),
    ("GB", "0 7911 123 456", (GB_M1,)),
    ("DE", "0157-846-279-39", (DE_M1,)),
    ("DE", "+49 1 5 7 8 4 6 2 7 9 3 9", (DE_M1,)),
    ("IT", "(+39) 347 1234567", (IT_M1,)),
    ("IN", "98765 432lO", (IN_M1,)),
    ("IN", "+91 98 76 54 32 10", (IN_M1,)),
    ("AU", "(04) 9157 0156", (AU_M1,)),
    ("AU", "0061 491 570 156", (AU_M1,)),
    ("AR", "+54 9 351 412-3456", (AR_CBA_MOB,)),
    ("AR", "351 15 412 3456", (AR_CBA_MOB,)),
    ("MX", "cinco cinco, uno dos, tres cuatro, cinco seis, siete ocho", (MX_CDMX,)),
    ("MX", "55🔥1234🔥5678", (MX_CDMX,)),
    ("ES", "seis1dos 3cuatro5 seis7ocho", (ES_M1,)),
    # A round number is still a number when it is not one of a list.
    ("US", "call 310 550 1200", ("+13105501200",)),
    ("US", "call 212 555 0100 after 8", ("+12125550100",)),
    ("GB", "020 7946 0000", ("+442079460000",)),
    # Italy dials the 0 of its landlines, even where a "(0)" is written after +39; a mobile has none.
    ("IT", "+39 (0)2 1234 5678", (IT_MI,)),
    ("IT", "0039 (0)6 12345678", (IT_RM,)),
    ("IT", "+39 (0) 347 1234567", (IT_M1,)),
    ("GB", "+44 (0)161 496 0321", (GB_MAN,)),
    ("AR", "(0351) 15-412-3456", (AR_CBA_MOB,)),
    ("MX", "01 55 1234 5678", (MX_CDMX,)),
    ("ES", "(+34) 612 34 56 78", (ES_M1,)),
    ("IN", "98765 43210 / 98765 43211", (IN_M1, "+919876543211")),
    ("US", "+1 51-45-55 0123", ("+15145550123",)),
    # ... but a number word after a spelled number, before a word, is a word of the sentence.
    ("US", "call seven one three five five five zero one four two five star service", ("+17135550142",)),
    ("US", "1 7 1 3 5 5 5 0 1 4 2", ("+17135550142",)),
    ("GB", "oh seven nine eleven, twelve thirty four fifty six", (GB_M1,)),
    ("DE", "null eins sieben sechs 123 456 78", (DE_M2,)),
    ("US", "312 triple 5 0123", (US1,)),
    ("MX", "cinco cinco doble uno dos tres cuatro cinco seis siete", ("+525511234567",)),
    ("US", "7hree one 7wo 555 0123", (US1,)),
    ("US", "312.555.O1Z3", (US1,)),
    ("US", "3 I 2 5 5 5 0 I 2 3", (US1,)),
    ("US", "THREE👏ONE👏TWO👏FIVE👏FIVE👏FIVE👏ZERO👏ONE👏TWO👏THREE", (US1,)),
    ("US", "threeonetwo.fivefivefive.zeroonetwothree", (US1,)),
    ("US", "three twelve, five five five, zero one twenty three", (US1,)),
    # Québec ads spell in French: digits and one-word teens, never the compound tens.
    ("CA", "quatre un six cinq cinq cinq zéro un trois quatre", (CA1,)),
    ("CA", "514 cinq cinq cinq 0192", (CA3,)),
    ("CA", "cinq un quatre, cinq cinq cinq, zéro un neuf deux", (CA3,)),
    ("CA", "cinq-un-quatre-cinq-cinq-cinq-zéro-un-neuf-deux", (CA3,)),
    ("CA", "Appelle-moi au 514 555 0192, un bisou", (CA3,)),
    ("CA", "un massage 514 555 0192", (CA3,)),
    # A height with a decimal before the number is no list the number is a piece of.
    ("ES", "1,65 612 345 678", (ES_M1,)),
    ("ES", "1.65 612 345 678", (ES_M1,)),
    ("IT", "1,70 339 123 45 67", ("+393391234567",)),
    ("DE", "Berlin 10115 0176 12345678", (DE_M2,)),
    ("ES", "Madrid 28013 612 34 56 78", (ES_M1,)),
    ("MX", "CP 06600 55 1234 5678", (MX_CDMX,)),
    ("AU", "NSW 2000 0491 570 156", (AU_M1,)),
    ("IN", "400053 98765 43210", (IN_M1,)),
    ("US", "36 24 36 713 555 0142", ("+17135550142",)),
    ("IN", "+91-098765-43210", (IN_M1,)),
    # Sound-alikes after a whole number are words: "... oh zero for for" is no number that
    # takes them as its last digits (it was +18555010044).
    ("US", "sweet SIX one EIGHT, Five FIVE FIVE, O ONE Oh zero for for", ("+16185550100",)),
    # Dingbat digits NFKC keeps as they are.
    ("US", "❼❶❸ ❺❺❺ ⓿❶❹❷", ("+17135550142",)),
    ("US", "➐➊➌-➎➎➎-⓿➊➍➋", ("+17135550142",)),
    ("GB", "⓿❼❾❶❶ ❶❷❸❹❺❻", (GB_M1,)),
    # A number word that is also a word, beside a block of digits, is the word: Italian "sei" (you
    # are), "tre"; French "un" (a). They were +3934712345676 and +3933471234567.
    ("IT", "347 1234567 sei bellissima", (IT_M1,)),
    ("IT", "tre 347 1234567", (IT_M1,)),
    ("CA", "un 514 555 0192 deux", (CA3,)),
    ("IT", "diciotto anni 347 1234567", (IT_M1,)),
    ("DE", "vierundzwanzig 0176 12345678", (DE_M2,)),
    ("ES", "seiscientos 612 34 56 78", (ES_M1,)),
    # Italian and German numbers have many lengths: an age, a count or hours after the number are
    # not its last digits (they were +39347123456725, +3934712345672, +49301234567822).
    ("IT", "347 1234567 25 anni", (IT_M1,)),
    ("IT", "347 1234567 2 ragazze", (IT_M1,)),
    ("IT", "chiamami 347 1234567 24 ore", (IT_M1,)),
    ("IT", "347 1234567 - 22", (IT_M1,)),
    ("DE", "030 12345678 - 22", (DE_BER,)),
    ("DE", "0176 12345678 24 Std", (DE_M2,)),
    ("IT", "347 1234567 ore 10-22", (IT_M1,)),
    ("DE", "0176 12345678 Uhrzeit nach Absprache", (DE_M2,)),
    ("US", "text 713-555-0142 girls only", ("+17135550142",)),
    # A touring advertiser's North American number spelled in tens in an ad placed in the UK: a
    # spelled last digit is no stray digit (only a printed one is: "612 345 678 9" below).
    ("GB", "WhatsApp sixty-four six, fiftyfive five, zero nineteen three | Outcall", ("+16465550193",)),
    ("GB", "TXT sixty four six fifty five five oh one nine three", ("+16465550193",)),
    # ... and North America's "1" written before a number makes a last printed digit no stray.
    ("AR", "llamame al 1-416-55501-2 3 Solo WhatsApp", ("+14165550123",)),
]


def _case_id(case: tuple[str, str, tuple[str, ...]]) -> str:
    return f"{case[0]}:{case[1][:40]}"


def test_the_expected_numbers_are_valid_where_they_belong() -> None:
    for _region, _text, expected in POSITIVE:
        for e164 in expected:
            assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), e164


@pytest.mark.parametrize(("region", "text", "expected"), POSITIVE, ids=[_case_id(c) for c in POSITIVE])
def test_a_number_written_by_hand_is_read(region: str, text: str, expected: tuple[str, ...]) -> None:
    assert phones(text, region) == sorted(expected)


# (ad's region, text with digits in it and no phone)
NEGATIVE: list[tuple[str, str]] = [
    ("US", "$200/hr, $350 2 hrs, $600 overnight"),
    ("US", "150 hh 250 h 400 2h"),
    ("US", "Posted: 12/05/2026 11:42 PM"),
    ("US", "5'6\" 125 lbs 34C"),
    ("US", "available 10am-2am"),
    ("US", "open 24/7 100% real pics"),
    ("US", "ad id: 84736251"),
    ("US", "Post ID 7458392016"),
    ("US", "zip 77002 & 77056"),
    ("US", "room 1412, floor 14"),
    ("US", "call 713-555-**** for details"),
    ("US", "(312) 555-01xx"),
    ("US", "stats 34DD-26-36"),
    ("US", "$1,500 for the weekend"),
    ("US", "views: 1,234,567"),
    ("US", "Room 2204 at the Hilton, 2nd floor"),
    ("US", "I-45 exit 48B"),
    ("US", "ticket #00012345678"),
    ("US", "order no. 4471 2203 1187"),
    ("US", "coords 29.7604, -95.3698"),
    ("US", "price 80$ 30 min, 150$ 1 hour"),
    ("US", "donations 150 250 350 500 900"),
    ("US", "BTC: bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"),
    ("US", "posted 2026-12-06T19:35:12Z"),
    ("US", "DOB 03/04/2001"),
    ("US", "Sat 10/12 & Sun 10/13, 11am-11pm"),
    ("US", "4.9/5 (312 reviews) 5 star"),
    ("US", "$200 qv 15 min, $300 half hour"),
    ("US", "insta: mia.lopez.1995"),
    ("US", "312 555 01 .. click to reveal"),
    ("CA", "close to the 401/404/407"),
    ("CA", "$250 1hr, $180 45min, $120 30min, CAD"),
    ("GB", "£120 per hour, £200 2 hours"),
    ("GB", "07911 ******"),
    ("GB", "+44 7911 ••••••"),
    ("GB", "34-24-36, size 8, 5ft 7"),
    ("DE", "0176 123… Nummer anzeigen"),
    ("US", "call 702 555 01.. see number"),
    ("DE", "90-60-90, 1,70 m, 55 kg, 25 Jahre"),
    ("DE", "Mo-Sa 10-22 Uhr, 150,- Euro"),
    ("DE", "PLZ 10115 Berlin, ab 20.12. bis 03.01."),
    ("DE", "Größe 1,68, KF 36, BH 75B"),
    ("IT", "347 12… mostra numero"),
    ("IT", "CAP 20121 Milano, 25 anni, 1,65"),
    ("IT", "ore 10.00-22.00, 150 euro mezz'ora, 250 un'ora"),
    ("IT", "rif. annuncio 3471234567"),
    ("ES", "WhatsApp: +34 612 XX XX XX"),
    ("ES", "Madrid 28013, 23 años, 1,60, 90-60-90"),
    ("ES", "100€ media hora, 150€ 1 hora, 1.000€ noche"),
    ("ES", "del 18.05.2026 al 20.05.2026"),
    ("IN", "Rs 3000 / 1 shot, Rs 8000 full night"),
    ("IN", "call 98765 XXXXX"),
    ("IN", "Mumbai 400053, age 24, 5'4"),
    ("AU", "masked: 0491 *** ***"),
    ("AU", "NSW 2000, $300 per hour, 1 hr min"),
    ("AU", "available 9:30am - 11:30pm, 30min $180"),
    ("AR", "ARS 30.000 la hora, 45.000 dos horas"),
    ("AR", "1.500 pesos la hora, 24 años, 1,65"),
    ("MX", "$2,000 MXN la hora, CP 06600"),
    ("MX", "de 10:00 a 22:00 hrs, 21 años"),
    ("MX", "medidas 90-60-90, 1.62 m, 52 kg"),
    ("US", "$150 - $250 - $350"),
    ("IT", "tariffe: 100 - 150 - 200 - 300"),
    ("US", "since 2019, 2020, 2021"),
    ("US", "ages 20 21 22 23 24"),
    ("AU", "ABN 51 824 753 556"),
    ("GB", "Company No. 12345678"),
    ("DE", "IBAN DE89 3704 0044 0532 0130 00"),
    ("US", "license #2017-004512"),
    ("US", "tracking 1Z999AA10123456784"),
    ("US", "I am 5 foot 2 and 110 pounds, 34 24 34"),
    ("US", "my ad number 1029384756"),
    ("DE", "Tel. 0176 / XXX XX XX"),
    ("US", "order #3125550123"),
    ("US", "9 8 7 6 5 4 3 2 1 0"),
    ("US", "3 hours 500 4 hours 650 overnight 1200"),
    ("US", "4400 Post Oak Pkwy Suite 1200"),
    ("DE", "Musterstraße 12, 10115 Berlin"),
    ("ES", "Calle Mayor 12, 3º 2ª, 28013 Madrid"),
    ("MX", "Col. Juárez 123, CP 06600"),
    ("ES", "quinientos euros la hora, seiscientos la noche"),
    ("DE", "ich bin zweiundzwanzig, zwanzig Euro, dreißig Minuten"),
    ("IT", "venti anni, trenta minuti, cento euro, dodici ore"),
    ("US", "grande venti latte, elf on the shelf"),
    ("IN", "Rs 3000 1 hour, Rs.5000 2 hours, Rs 10000 night"),
    ("IT", "100 h 24, 150 h 48"),
    ("US", "1 h 150, 2 h 250, USD 600 overnight"),
    ("DE", "1 h 150 EUR, 2 h 250 EUR, 24 h 1000 EUR"),
    ("US", "oh to be 22 for 555 days"),
    ("US", "oh oh oh to the 555 for 4 won"),
    ("US", "she is 5' 2\" and 5' 0147 is not a height"),
    ("US", "promo code 7025550147"),
    # Lists of round prices, whatever area codes their last three happen to be.
    ("US", "rates 200 300 500 800 1200"),
    ("US", "rates 250 350 450 650 1250"),
    ("US", "$200 300 500 800 1200"),
    ("GB", "rates 150 250 350 500 1200"),
    ("CA", "rates 200 350 500 1000"),
    ("DE", "Preise: 30 Min 100, 60 Min 150, 120 Min 280"),
    ("DE", "Kennziffer 123 456 789"),
    ("IT", "Tariffe 100 150 200 300 500"),
    ("IT", "misure 90 60 90, altezza 1 70, peso 55"),
    ("ES", "tarifas 70 100 150 250 500"),
    ("ES", "ref. anuncio 3129445566"),
    ("AR", "tarifas 25.000 / 40.000 / 70.000"),
    ("AR", "departamento en Av. Santa Fe 2345 piso 11 depto 4"),
    ("MX", "tarifas 1500 2800 6000 8000"),
    ("IN", "age 22 height 5 4 weight 52 figure 34 28 36"),
    ("IN", "2000 3000 5000 10000"),
    ("US", "5 4 120 36DD 24 36 23 yo"),
    ("AU", "level 12 45 Clarence St Sydney 2000"),
    # Number words that are prices, times, ages and counts.
    ("US", "one on one, two girls, three hours, four play, five stars"),
    ("US", "available from ten thirty to eleven forty five, seven days"),
    ("US", "one fifty for an hour, two fifty for two hours, four hundred for three"),
    ("US", "I'm twenty two, five foot six, one twenty pounds, thirty four C"),
    ("US", "big b00bs 36DD, l0l, s3xy h0t"),
    ("GB", "room two oh four, floor two, building six"),
    ("GB", "call me for two, text me for three, see me for eight"),
    ("ES", "cinco minutos, diez minutos, quince minutos, veinte minutos, media hora"),
    ("MX", "diez, veinte, treinta, cuarenta, cincuenta"),
    ("ES", "seiscientos euros, setecientos la noche, ochocientos con salida"),
    ("AR", "hasta las once, desde las nueve, doce horas"),
    ("DE", "null Problemo, eins zwei drei, vier fünf sechs"),
    ("IT", "dodici ore, ventiquattro ore su ventiquattro, sette giorni su sette"),
    ("IN", "I I I I I I I I I I"),
    ("AU", "O.O.O.O.O.O.O.O.O.O"),
    # A spelled or spaced run with a digit too many (or too few) is no number: any reading of part
    # of it is a guess at which digit is the typo.
    ("US", "seven one three five five five zero one four two three"),
    ("US", "7 1 3 5 5 5 0 1 4 2 5"),
    ("US", "5 3 1 2 5 5 5 0 1 2 3"),
    ("US", "312 555 O double one 2 3"),
    ("GB", "oh seven nine one one, double one, two three four five six"),
    ("CA", "cinq un quatre, cinq cinq cinq, zéro un, quatre-vingt-douze"),
    ("CA", "Nouvelle à Montréal, 22 ans, un appartement neuf, sept jours sur sept, 160 la demi-heure"),
    ("CA", "dix-sept ans, dix-huit, dix-neuf"),
    ("US", "seize the day, un deux trois"),
    # Another country's number read from a national number and a stray digit: no.
    ("ES", "612 345 678 9"),
    ("ES", "tel 612 345 678 9 whatsapp"),
]


@pytest.mark.parametrize(("region", "text"), NEGATIVE, ids=[f"{r}:{t[:40]}" for r, t in NEGATIVE])
def test_digits_that_are_no_phone_are_not_read(region: str, text: str) -> None:
    assert phones(text, region) == []


def test_words_in_pairs_and_hundreds_have_their_styles() -> None:
    spanish = styles_of("seiscientos doce, treinta y cuatro, cincuenta y seis, setenta y ocho", "ES")
    assert {"words_hundreds", "words_tens"} <= spanish
    assert "words_tens" in styles_of(
        "null eins sieben sechs, zwölf, vierunddreißig, sechsundfünfzig, achtundsiebzig", "DE"
    )
    assert "words_tens" in styles_of("tre quattro sette, dodici, trentaquattro, cinquantasei, sette", "IT")


@pytest.mark.parametrize(
    "written", ["(seven oh two) 555 0147", "(7 0 2) 555 0147", "(seven 0 two) five55 0147", "(702) 555 0147"]
)
def test_an_area_code_in_brackets_keeps_its_bracket_in_the_span(written: str) -> None:
    text = f"call {written} now"
    [found] = find_phones([("body", text)], "US")
    assert found.value == US2
    span = found.spans[0]
    assert text[span.start : span.end] == written


def test_leet_among_words_needs_every_piece_to_be_a_number() -> None:
    for text in ("b4 gr8 2nite 713 one4all l8r 4ever", "no1 2day 555 s3x 0h n0"):
        assert [f.value for f in find_phones([("body", text)], "US")] == [], text


def test_a_lone_or_after_a_number_is_not_in_its_span() -> None:
    text = "chiamami al 347 1234567 o scrivimi"
    [found] = find_phones([("body", text)], "IT")
    span = found.spans[0]
    assert text[span.start : span.end] == "347 1234567"
    assert found.detail["styles"] == []


@pytest.mark.parametrize(
    ("region", "text"),
    [("DE", "0157/84627939"), ("DE", "030 / 12345678"), ("IT", "347/1234567"), ("IT", "02 / 12345678")],
)
def test_the_slash_after_an_area_code_is_a_printed_form_not_obscuring(region: str, text: str) -> None:
    [found] = find_phones([("body", text)], region)
    assert found.detail == {"obfuscated": False, "styles": []}


def test_double_and_triple_are_not_filler() -> None:
    styles = styles_of("ring oh seven four double oh, one two three, four five six", "GB")
    assert "words_mult" in styles
    assert "filler" not in styles
    assert "separators" in styles_of("713 / 555 / 0142", "US")


@pytest.mark.parametrize(
    ("region", "text"),
    [
        ("DE", "030 1234 5678"),
        ("DE", "+49 89 123 456 78"),
        ("DE", "0157 8462 7939"),
        ("GB", "07911 123 456"),
        ("GB", "0207 946 0123"),
        ("IT", "339 123 45 67"),
        ("IT", "347 12 34 567"),
        ("ES", "+34 91 123 45 67"),
        ("ES", "0034-612-345-678"),
        ("MX", "55-12-34-56-78"),
        ("AR", "11 23 45 67 89"),
    ],
)
def test_a_countrys_own_grouping_is_not_regrouped(region: str, text: str) -> None:
    """The area code or mobile prefix whole and the rest in twos to fours is how these countries
    write numbers, though `phonenumbers` prints them otherwise: not an obscured number."""
    [found] = find_phones([("body", text)], region)
    assert "regrouped" not in found.detail["styles"]


@pytest.mark.parametrize(
    ("region", "text"),
    [
        ("US", "832 5550 166"),
        ("US", "713 555 01 42"),
        ("GB", "+44 (0) 79 11 12 34 56"),
        ("IT", "34 71 23 45 67"),
        ("AU", "(04) 9157 0156"),
        ("IN", "+91 98 76 54 32 10"),
    ],
)
def test_a_grouping_across_the_area_code_is_regrouped(region: str, text: str) -> None:
    [found] = find_phones([("body", text)], region)
    assert "regrouped" in found.detail["styles"]


@pytest.mark.parametrize(
    "text",
    [
        "7\u03361\u03363\u0336 5\u03365\u03365\u0336 0\u03361\u03364\u03362\u0336",
        "7\u03321\u03323\u0332-555-0142",
    ],
)
def test_struck_through_or_underlined_digits_are_read_with_their_style(text: str) -> None:
    [found] = find_phones([("body", f"call {text} now")], "US")
    assert found.value == "+17135550142"
    span = found.spans[0]
    assert f"call {text} now"[span.start : span.end] == text
    assert found.detail["styles"] == ["strokes"]
