"""Value generators for gen_corpus.py: PII values (Faker, many locales, plus hand-made ID
formats) and non-PII fillers.  Everything draws from the caller's random.Random."""
import random
import string

from faker import Faker

# (locale, weight)
LOCALES = [
    ("en_US", 16), ("en_GB", 7), ("en_IN", 4), ("en_AU", 2), ("en_CA", 2), ("en_IE", 1), ("en_NZ", 1),
    ("es_ES", 6), ("es_MX", 4), ("es_CO", 1), ("es_AR", 1), ("de_DE", 6), ("de_AT", 1), ("de_CH", 1),
    ("fr_FR", 6), ("fr_CA", 1), ("fr_CH", 1), ("it_IT", 3), ("nl_NL", 2), ("nl_BE", 1), ("pt_BR", 3), ("pt_PT", 1),
    ("pl_PL", 2), ("sv_SE", 1), ("da_DK", 1), ("no_NO", 1), ("fi_FI", 1), ("cs_CZ", 1), ("hu_HU", 1),
    ("ro_RO", 1), ("el_GR", 1), ("tr_TR", 2), ("ru_RU", 2), ("uk_UA", 1), ("ja_JP", 2), ("zh_CN", 2),
    ("zh_TW", 1), ("ko_KR", 1), ("vi_VN", 1), ("th_TH", 1), ("id_ID", 1), ("fil_PH", 1), ("ar_AA", 1),
    ("ar_EG", 1), ("fa_IR", 1), ("he_IL", 1), ("hi_IN", 1), ("bn_BD", 1), ("ne_NP", 1), ("ka_GE", 1),
    ("hy_AM", 1), ("az_AZ", 1), ("et_EE", 1), ("lv_LV", 1), ("lt_LT", 1), ("sk_SK", 1), ("sl_SI", 1),
    ("hr_HR", 1), ("bg_BG", 1), ("is_IS", 1),
]

_TEMPLATE_LANG = {"es": "es", "de": "de", "fr": "fr"}


def LANG_OF_LOCALE(locale, rng):
    l = locale.split("_")[0]
    if l in _TEMPLATE_LANG and rng.random() < 0.8:
        return _TEMPLATE_LANG[l]
    if l not in _TEMPLATE_LANG and rng.random() < 0.06:
        return rng.choice(["es", "de", "fr"])
    return "en"


def get_faker(fakers, locale, rng):
    f = fakers.get(locale)
    if f is None:
        try:
            f = Faker(locale)
        except Exception:
            f = Faker("en_US")
        f.seed_instance(rng.randint(0, 2**31))
        fakers[locale] = f
    return f


def try_call(f, fen, name, *a, **kw):
    for ff in (f, fen):
        try:
            v = getattr(ff, name)(*a, **kw)
            if v:
                return str(v)
        except Exception:
            pass
    return ""


def digits(rng, n):
    return "".join(rng.choice(string.digits) for _ in range(n))


def letters(rng, n, up=True):
    return "".join(rng.choice(string.ascii_uppercase if up else string.ascii_lowercase) for _ in range(n))


def alnum(rng, n, alphabet=string.ascii_uppercase + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(n))


MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
           "octubre", "noviembre", "diciembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
}


def fmt_date(rng, y, m, d, lang):
    mn = MONTHS[lang][m - 1]
    r = rng.random()
    if r < 0.2:
        return f"{m:02d}/{d:02d}/{y}" if lang == "en" and rng.random() < 0.6 else f"{d:02d}/{m:02d}/{y}"
    if r < 0.3:
        return f"{y}-{m:02d}-{d:02d}"
    if r < 0.4:
        return f"{d}.{m}.{y}" if rng.random() < 0.5 else f"{d:02d}.{m:02d}.{y}"
    if r < 0.45:
        return f"{m}/{d}/{str(y)[2:]}"
    if lang == "en":
        if rng.random() < 0.5:
            return f"{mn} {d}, {y}" if rng.random() < 0.7 else f"{mn[:3]} {d} {y}"
        return f"{d} {mn} {y}" if rng.random() < 0.7 else f"{d}th of {mn} {y}"
    if lang == "es":
        return f"{d} de {mn} de {y}"
    if lang == "de":
        return f"{d}. {mn} {y}"
    return f"{d} {mn} {y}" if rng.random() < 0.8 else f"{'1er' if d == 1 else d} {mn} {y}"


def national_id(rng, locale, f, fen):
    c = locale.split("_")[-1]
    r = rng.random()
    if c == "GB" or c == "IE":
        if c == "IE":
            return digits(rng, 7) + letters(rng, 1 + (r < 0.5))
        s = rng.choice("ABCEGHJKLMNOPRSTWXYZ") + rng.choice("ABCEGHJKLMNPRSTWXYZ") + digits(rng, 6) + rng.choice("ABCD")
        return s if r < 0.6 else f"{s[:2]} {s[2:4]} {s[4:6]} {s[6:8]} {s[8]}"
    if c in ("ES",):
        if r < 0.7:
            return digits(rng, 8) + ("-" if rng.random() < 0.2 else "") + letters(rng, 1)
        return rng.choice("XYZ") + digits(rng, 7) + letters(rng, 1)
    if c in ("MX",):
        return letters(rng, 4) + digits(rng, 6) + rng.choice("HM") + letters(rng, 5) + alnum(rng, 1) + digits(rng, 1)
    if c in ("AR", "CO"):
        n = digits(rng, 8)
        return f"{n[:2]}.{n[2:5]}.{n[5:]}" if r < 0.5 else n
    if c in ("DE", "AT", "CH"):
        if r < 0.5:
            return digits(rng, 11)
        if c == "CH":
            return f"756.{digits(rng, 4)}.{digits(rng, 4)}.{digits(rng, 2)}"
        return rng.choice("CFGHJKLMNPRTVWXYZ") + alnum(rng, 8, "CFGHJKLMNPRTVWXYZ0123456789")
    if c in ("FR", "BE") and locale.startswith("fr"):
        n = rng.choice("12") + digits(rng, 14)
        return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}" if r < 0.6 else n
    if c == "IT":
        return letters(rng, 6) + digits(rng, 2) + letters(rng, 1) + digits(rng, 2) + letters(rng, 1) + digits(rng, 3) + letters(rng, 1)
    if c in ("NL", "BE"):
        n = digits(rng, 9) if c == "NL" else digits(rng, 11)
        return n if r < 0.6 else (f"{n[:4]}.{n[4:6]}.{n[6:]}" if c == "NL" else f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}")
    if c in ("IN",):
        if r < 0.6:
            return f"{rng.randint(2, 9)}{digits(rng, 3)} {digits(rng, 4)} {digits(rng, 4)}"
        return letters(rng, 5) + digits(rng, 4) + letters(rng, 1)
    if c in ("BR", "PT"):
        if c == "BR":
            n = digits(rng, 11)
            return f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}" if r < 0.7 else n
        return digits(rng, 8) + " " + digits(rng, 1) + " " + alnum(rng, 2) + digits(rng, 1)
    if c in ("PL", "TR", "RU", "UA"):
        if c == "RU" and r < 0.5:
            return f"{digits(rng, 4)} {digits(rng, 6)}" if rng.random() < 0.5 else f"{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 3)} {digits(rng, 2)}"
        return digits(rng, 11) if c != "UA" else digits(rng, 10)
    if c in ("SE", "NO", "DK", "FI"):
        y, m, d = rng.randint(40, 99), rng.randint(1, 12), rng.randint(1, 28)
        sep = {"SE": "-", "NO": "", "DK": "-", "FI": "-"}[c]
        tail = digits(rng, 4) if c != "FI" else digits(rng, 3) + alnum(rng, 1)
        if c == "NO":
            tail = digits(rng, 5)
        return f"{d:02d}{m:02d}{y:02d}{sep}{tail}" if c != "SE" else (f"19{y:02d}{m:02d}{d:02d}-{tail}" if r < 0.3 else f"{y:02d}{m:02d}{d:02d}-{tail}")
    if c in ("CN", "TW"):
        if c == "TW":
            return letters(rng, 1) + rng.choice("12") + digits(rng, 8)
        return digits(rng, 17) + rng.choice(string.digits + "X")
    if c == "JP":
        n = digits(rng, 12)
        return f"{n[:4]} {n[4:8]} {n[8:]}" if r < 0.5 else n
    if c == "KR":
        return f"{digits(rng, 6)}-{rng.choice('1234')}{digits(rng, 6)}"
    if c == "US":
        # non-SSN national-style ids (ITIN shaped); SSNs are their own label
        return f"9{digits(rng, 2)}-{rng.choice(['7', '8'])}{digits(rng, 1)}-{digits(rng, 4)}"
    v = try_call(f, None, "ssn")
    if v and rng.random() < 0.6:
        return v
    return alnum(rng, rng.randint(8, 12), string.digits + string.ascii_uppercase[:6]) if r < 0.3 else digits(rng, rng.randint(9, 13))


def passport(rng, locale, f, fen):
    r = rng.random()
    if r < 0.25:
        v = try_call(f, None, "passport_number")
        if v:
            return v
    if r < 0.45:
        return letters(rng, 2) + digits(rng, 7)
    if r < 0.65:
        return digits(rng, 9)
    if r < 0.8:
        return letters(rng, 1) + digits(rng, 8)
    return alnum(rng, 9, "CFGHJKLMNPRTVWXYZ0123456789")


US_STATES = ["CA", "NY", "TX", "FL", "WA", "IL", "PA", "OH", "GA", "NC", "MI", "NJ", "VA", "AZ", "MA"]


def driver_license(rng, locale, f, fen, last=""):
    c = locale.split("_")[-1]
    r = rng.random()
    if c == "GB":
        ln = (last.upper() + "99999")[:5].replace(" ", "9")
        ln = "".join(ch if ch.isalpha() and ch.isascii() else "9" for ch in ln)
        return f"{ln}{digits(rng, 6)}{letters(rng, 2)}{digits(rng, 1)}{letters(rng, 2)}"
    if c in ("DE", "AT"):
        return alnum(rng, 11)
    if c == "FR":
        return digits(rng, 12)
    if r < 0.3:
        return letters(rng, 1) + digits(rng, 7)
    if r < 0.45:
        return digits(rng, rng.choice([7, 8, 9]))
    if r < 0.6:
        return f"{letters(rng, 1)}{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 3)}-{digits(rng, 1)}"
    if r < 0.7:
        return f"{digits(rng, 3)} {digits(rng, 3)} {digits(rng, 3)}"
    if r < 0.8:
        return letters(rng, 1) + digits(rng, 12)
    if r < 0.9:
        return f"{digits(rng, 4)}-{digits(rng, 2)}-{digits(rng, 4)}"
    return letters(rng, 2) + digits(rng, 6) + letters(rng, 1)


def medical_id(rng):
    r = rng.random()
    if r < 0.3:
        return digits(rng, rng.choice([6, 7, 8, 10]))
    if r < 0.45:
        return f"{digits(rng, 3)} {digits(rng, 3)} {digits(rng, 4)}"  # NHS style
    if r < 0.6:
        return rng.choice(["MRN", "MR", "PT", "H"]) + rng.choice(["-", "", " "]) + digits(rng, rng.choice([6, 7, 8]))
    if r < 0.75:
        return f"{digits(rng, 1)}{letters(rng, 2)}{digits(rng, 1)}-{letters(rng, 2)}{digits(rng, 1)}-{letters(rng, 2)}{digits(rng, 2)}"
    if r < 0.9:
        return letters(rng, rng.choice([1, 3])) + digits(rng, 9)
    return f"{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 4)}"


def account_number(rng, f, fen):
    r = rng.random()
    if r < 0.25:
        return digits(rng, rng.randint(8, 12))
    if r < 0.4:
        v = try_call(f, fen, "bban")
        if v:
            return v
    if r < 0.55:
        return f"{digits(rng, 4)}-{digits(rng, 4)}-{digits(rng, 2)}"
    if r < 0.65:
        return f"{digits(rng, 2)}-{digits(rng, 2)}-{digits(rng, 2)} {digits(rng, 8)}"
    if r < 0.75:
        return "ACC-" + digits(rng, rng.randint(6, 9))
    if r < 0.85:
        return "****" + digits(rng, 4) if rng.random() < 0.3 else digits(rng, 3) + "-" + digits(rng, 6) + "-" + digits(rng, 1)
    return digits(rng, 10) + "/" + digits(rng, 4)


def other_id(rng):
    r = rng.random()
    if r < 0.15:
        return rng.choice(["EMP", "E", "EID", "STF"]) + rng.choice(["-", "", "#"]) + digits(rng, rng.randint(4, 7))
    if r < 0.3:
        return rng.choice(["S", "STU", "U"]) + digits(rng, rng.randint(6, 8))
    if r < 0.42:
        return rng.choice(["CUST", "C", "CID", "CU"]) + "-" + digits(rng, rng.randint(5, 8))
    if r < 0.54:
        return rng.choice(["POL", "PL", "INS"]) + "-" + digits(rng, 4) + "-" + digits(rng, 6)
    if r < 0.64:
        return f"{letters(rng, 2)}{digits(rng, 2)} {letters(rng, 3)}" if rng.random() < 0.5 else f"{digits(rng, 1)}{letters(rng, 3)}{digits(rng, 3)}"
    if r < 0.74:
        return rng.choice(["DE", "FR", "GB", "ES", "IT", "NL"]) + digits(rng, 9)
    if r < 0.82:
        return f"{digits(rng, 2)}-{digits(rng, 7)}"
    if r < 0.9:
        return f"{rng.randint(1, 9)}:{rng.randint(10, 24)}-cv-{digits(rng, 5)}"
    return alnum(rng, rng.randint(6, 10))


def username(rng, f, fen, first="", last=""):
    r = rng.random()
    def asc(s):
        s = "".join(ch for ch in s.lower() if ch.isascii() and ch.isalnum())
        return s or letters(rng, 5, up=False)
    if r < 0.35:
        v = try_call(fen, None, "user_name")
        return v
    if r < 0.55:
        return asc(first) + rng.choice(["", ".", "_", ""]) + asc(last) + (digits(rng, rng.randint(1, 4)) if rng.random() < 0.5 else "")
    if r < 0.65:
        return asc(first)[:1] + asc(last) + digits(rng, rng.randint(0, 3))
    if r < 0.75:
        return rng.choice(["xX_", "the", "real", "its", "mr_", "lil", "", "dj"]) + rng.choice(
            ["dark", "shadow", "gamer", "wolf", "pixel", "ninja", "coffee", "sunny", "moon", "king"]) + \
            rng.choice(["", "_", ""]) + rng.choice(["", digits(rng, 2), "_Xx", "99", "x", "_official"])
    if r < 0.85:
        return asc(first).capitalize() + asc(last).capitalize() + digits(rng, rng.randint(0, 2))
    return asc(first) + "_" + digits(rng, 4)


def password(rng, f, fen):
    r = rng.random()
    if r < 0.45:
        return fen.password(length=rng.randint(8, 18), special_chars=rng.random() < 0.7)
    if r < 0.6:
        w = rng.sample(["correct", "horse", "battery", "staple", "purple", "monkey", "dishwasher", "tiger", "river", "blue"], 3)
        return rng.choice(["-", "_", "", "."]).join(w) + (digits(rng, 2) if rng.random() < 0.5 else "")
    if r < 0.8:
        return rng.choice(["Summer", "Winter", "Welcome", "Password", "Qwerty", "Monkey", "Dragon", "Letmein", "Sunshine", "Bonjour", "Hallo", "Hola"]) + \
            rng.choice(["2019", "2020", "2021", "2022", "2023", "2024", "123", "1", "!"]) + rng.choice(["", "!", "#", "$"])
    return alnum(rng, rng.randint(10, 16), string.ascii_letters + string.digits + "!@#$%^&*")


def api_key(rng):
    r = rng.random()
    an = string.ascii_letters + string.digits
    if r < 0.25:
        return "sk-" + alnum(rng, 48, an)
    if r < 0.4:
        return "AKIA" + alnum(rng, 16)
    if r < 0.55:
        return "ghp_" + alnum(rng, 36, an)
    if r < 0.65:
        return "xoxb-" + digits(rng, 12) + "-" + digits(rng, 13) + "-" + alnum(rng, 24, an)
    if r < 0.8:
        return alnum(rng, 32, "0123456789abcdef")
    return "AIza" + alnum(rng, 35, an + "-_")


def crypto(rng):
    r = rng.random()
    b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    if r < 0.4:
        return "0x" + alnum(rng, 40, "0123456789abcdef")
    if r < 0.7:
        return "bc1q" + alnum(rng, 38, "023456789acdefghjklmnpqrstuvwxyz")
    return rng.choice("13") + alnum(rng, 33, b58)


def phone(rng, f, fen):
    v = try_call(f, fen, "phone_number")
    if rng.random() < 0.15:
        v = "+" + str(rng.randint(1, 99)) + " " + digits(rng, 3) + " " + digits(rng, 3) + " " + digits(rng, 4)
    return v


FAMOUS_PEOPLE = [
    "Taylor Swift", "Justin Bieber", "Barack Obama", "Angela Merkel", "Emmanuel Macron", "Lionel Messi",
    "Cristiano Ronaldo", "Beyoncé", "Rihanna", "Elon Musk", "Joe Biden", "Donald Trump", "Kim Kardashian",
    "Harry Styles", "Liam Payne", "Niall Horan", "Zayn Malik", "Louis Tomlinson", "Ed Sheeran", "Adele",
    "Serena Williams", "Roger Federer", "Rafael Nadal", "Novak Djokovic", "LeBron James", "Shakira",
    "Pedro Sánchez", "Olaf Scholz", "Narendra Modi", "Xi Jinping", "Vladimir Putin", "Jacinda Ardern",
    "Boris Johnson", "Theresa May", "Kylie Jenner", "Drake", "Kanye West", "Ariana Grande", "Selena Gomez",
    "Miley Cyrus", "Lady Gaga", "Paris Hilton", "Michael Jordan", "Tom Hanks", "Meryl Streep",
    "Oprah Winfrey", "Bill Gates", "Mark Zuckerberg", "Jeff Bezos", "Tim Cook", "Sundar Pichai",
    "Kylian Mbappé", "Neymar", "Zlatan Ibrahimović", "Greta Thunberg", "Pope Francis", "Malala Yousafzai",
    "David Beckham", "Wayne Rooney", "Andy Murray", "Lewis Hamilton", "Max Verstappen", "Usain Bolt",
    "Priyanka Chopra", "Shah Rukh Khan", "BTS", "Jungkook", "Lisa Manoban", "Bad Bunny", "Rosalía",
    "Dua Lipa", "Billie Eilish", "Emma Watson", "Daniel Radcliffe", "Benedict Cumberbatch",
]
FAMOUS_ORGS = [
    "Google", "Microsoft", "Apple", "Amazon", "Meta", "Facebook", "Twitter", "Netflix", "Tesla", "IBM",
    "Siemens", "Volkswagen", "BMW", "Deutsche Bank", "Santander", "BBVA", "Telefónica", "Carrefour",
    "L'Oréal", "Renault", "Airbus", "Unilever", "Nestlé", "Philips", "Shell", "BP", "HSBC", "Barclays",
    "NHS", "UNICEF", "WHO", "United Nations", "European Commission", "FBI", "NASA", "BBC", "CNN", "Reuters",
    "Real Madrid", "FC Barcelona", "Manchester United", "Arsenal", "Chelsea", "Bayern Munich", "Juventus",
    "the Lakers", "Harvard University", "Stanford", "Oxford University", "MIT", "Samsung", "Sony", "Toyota",
    "Alibaba", "Tencent", "Infosys", "Tata Consultancy Services", "Wells Fargo", "JPMorgan Chase",
    "Goldman Sachs", "Pfizer", "Moderna", "Kaiser Permanente", "Mayo Clinic", "Red Cross", "Greenpeace",
    "One Direction", "Coldplay", "Arctic Monkeys", "Metallica", "5 Seconds of Summer", "Starbucks",
    "McDonald's", "Walmart", "Target", "IKEA", "Zara", "H&M", "Uber", "Airbnb", "Spotify", "PayPal",
]
FAMOUS_PLACES = [
    "London", "Paris", "New York", "Madrid", "Barcelona", "Berlin", "Munich", "Rome", "Milan", "Tokyo",
    "Beijing", "Shanghai", "Mumbai", "Delhi", "São Paulo", "Mexico City", "Buenos Aires", "Lagos",
    "Nairobi", "Cairo", "Istanbul", "Moscow", "Kyiv", "Warsaw", "Stockholm", "Amsterdam", "Brussels",
    "Dublin", "Manchester", "Liverpool", "Glasgow", "Toronto", "Vancouver", "Sydney", "Melbourne",
    "Los Angeles", "Chicago", "Houston", "Texas", "California", "Florida", "Brazil", "Germany", "France",
    "Spain", "Italy", "India", "China", "Japan", "Nigeria", "Kenya", "Canada", "Australia", "Scotland",
    "Wales", "Ireland", "Kashmir", "Gaza", "Ukraine", "Seoul", "Bangkok", "Jakarta", "Manila", "Lima",
    "Bogotá", "Santiago", "Lisbon", "Porto", "Vienna", "Zurich", "Geneva", "Prague", "Budapest",
    "Athens", "Helsinki", "Oslo", "Copenhagen", "Hong Kong", "Singapore", "Dubai", "Tehran",
    "Silicon Valley", "Brooklyn", "Manhattan", "Bavaria", "Catalonia", "Andalusia", "Provence", "Yorkshire",
]

STREET_WORDS = {
    "en": ["Street", "St", "St.", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Blvd", "Way", "Court", "Place", "Close", "Terrace"],
}


def street_address(rng, f, fen, locale, multiline_ok=True):
    r = rng.random()
    s = try_call(f, fen, "street_address")
    if r < 0.12:
        # PO boxes / military
        c = rng.random()
        if c < 0.5:
            s = rng.choice(["PO Box ", "P.O. Box ", "Apartado de Correos ", "Postfach ", "BP ", "Boîte postale "]) + digits(rng, rng.randint(2, 5))
        else:
            s = rng.choice(["Unit ", "PSC ", "USNS "]) + digits(rng, 4) + " Box " + digits(rng, 4)
    elif r < 0.25 and locale.startswith("en"):
        s = s + rng.choice([", Apt ", " Apt. ", ", Suite ", " Unit ", ", Flat ", " #"]) + str(rng.randint(1, 999))
    return s


def full_address(rng, f, fen, locale):
    r = rng.random()
    a = try_call(f, fen, "address")
    if r < 0.15:
        a = street_address(rng, f, fen, locale) + ", " + try_call(f, fen, "postcode") + " " + try_call(f, fen, "city")
    if rng.random() < 0.5:
        a = a.replace("\n", ", ")
    if rng.random() < 0.2:
        a = a + ", " + try_call(f, fen, "country")
    return a


class Ctx:
    """Lazily generated, consistent values for one example (one main persona + others)."""

    def __init__(self, rng, fakers, locale, lang, parent=None):
        self.rng = rng
        self.fakers = fakers
        self.locale = locale
        self.lang = lang
        self.f = get_faker(fakers, locale, rng)
        self.fen = get_faker(fakers, "en_US", rng)
        self.vals = {}
        self.children = {}

    def fork(self, tag="@"):
        if tag not in self.children:
            # a second persona, sometimes from another locale
            loc = self.locale
            if self.rng.random() < 0.4:
                from gen_corpus import pick_locale
                loc = pick_locale(self.rng)
            self.children[tag] = Ctx(self.rng, self.fakers, loc, self.lang)
        return self.children[tag]

    def get(self, key):
        if key.startswith("@"):
            return self.fork().get(key[1:])
        if key[-1].isdigit() and key[:-1] in GEN:
            return self.fork("@" + key[-1]).get(key[:-1])
        if key not in self.vals:
            self.vals[key] = self._gen(key)
        return self.vals[key]

    def first_last(self):
        if "_fl" not in self.vals:
            rng, f, fen = self.rng, self.f, self.fen
            first = try_call(f, fen, "first_name")
            last = try_call(f, fen, "last_name")
            if rng.random() < 0.08:
                first = rng.choice(["Will", "May", "Grace", "Bill", "Mark", "Hope", "April", "Rose", "June",
                                    "Jordan", "Faith", "Joy", "Summer", "Dawn", "Sky", "Hunter", "Chase",
                                    "Art", "Pat", "Sue", "Ray", "Rob", "Jack", "Penny", "Iris", "Olive"])
            self.vals["_fl"] = (first, last)
        return self.vals["_fl"]

    def _gen(self, key):
        return GEN[key](self)


def _person(c):
    rng = c.rng
    first, last = c.first_last()
    loc = c.locale
    r = rng.random()
    if loc in ("ja_JP", "zh_CN", "zh_TW", "ko_KR") and rng.random() < 0.85:
        return (last + first if rng.random() < 0.8 else last + " " + first), "PERSON"
    if loc == "hu_HU" and rng.random() < 0.7:
        return f"{last} {first}", "PERSON"
    if r < 0.55:
        return f"{first} {last}", "PERSON"
    if r < 0.65:
        return f"{first} {rng.choice(string.ascii_uppercase)}. {last}" if rng.random() < 0.7 else f"{first} {rng.choice(string.ascii_uppercase)} {last}", "PERSON"
    if r < 0.72:
        return f"{first[0]}. {last}", "PERSON"
    if r < 0.78:
        return f"{last}, {first}", "PERSON"
    if r < 0.86:
        l2 = try_call(c.f, c.fen, "last_name")
        sep = " " if loc.startswith(("es", "pt")) else "-"
        return f"{first} {last}{sep}{l2}", "PERSON"
    if r < 0.9:
        f2 = try_call(c.f, c.fen, "first_name")
        return f"{first} {f2} {last}", "PERSON"
    if r < 0.94:
        return rng.choice(FAMOUS_PEOPLE), "PERSON"
    return f"{first} {last}", "PERSON"


def _dob(c):
    rng = c.rng
    y = rng.randint(1935, 2012)
    return fmt_date(rng, y, rng.randint(1, 12), rng.randint(1, 28), c.lang), "DATE_OF_BIRTH"


def _date(c):
    rng = c.rng
    r = rng.random()
    y = rng.randint(2015, 2026)
    if r < 0.1:
        return str(rng.randint(1980, 2025)), "DATE"
    if r < 0.2:
        mn = MONTHS[c.lang][rng.randint(0, 11)]
        return (f"{mn} {y}" if c.lang != "es" else f"{mn} de {y}"), "DATE"
    return fmt_date(rng, y, rng.randint(1, 12), rng.randint(1, 28), c.lang), "DATE"


def _city(c):
    if c.rng.random() < 0.15:
        return c.rng.choice(FAMOUS_PLACES), "LOCATION"
    return try_call(c.f, c.fen, "city"), "LOCATION"


def _country(c):
    if c.rng.random() < 0.3:
        return c.rng.choice(["Germany", "France", "Spain", "Mexico", "India", "Brazil", "Japan", "China",
                             "Nigeria", "Canada", "the United States", "the UK", "Italy", "Poland", "Turkey",
                             "Deutschland", "España", "Francia", "Alemania", "Frankreich", "Spanien", "Royaume-Uni"]), "LOCATION"
    return try_call(c.fen if c.rng.random() < 0.6 else c.f, c.fen, "country"), "LOCATION"


def _org(c):
    rng = c.rng
    r = rng.random()
    if r < 0.25:
        return rng.choice(FAMOUS_ORGS), "ORGANIZATION"
    if r < 0.35:
        last = try_call(c.f, c.fen, "last_name")
        return last + rng.choice([" & Partners", " LLP", " Associates", " GmbH", " S.L.", " SARL", " Ltd", " Inc.", " Clinic", " Hospital", " Law Firm", " Bakery"]), "ORGANIZATION"
    if r < 0.42:
        city = try_call(c.f, c.fen, "city")
        return rng.choice(["University of ", "City of ", "Hospital ", "Bank of ", "Universidad de ", "Stadtwerke ", "Mairie de ", "St. Mary's Hospital "]) + city if rng.random() < 0.7 else city + rng.choice([" General Hospital", " Community College", " Public Library", " FC", " Medical Center"]), "ORGANIZATION"
    return try_call(c.f, c.fen, "company"), "ORGANIZATION"


def _user(c):
    first, last = c.first_last()
    return username(c.rng, c.f, c.fen, first, last), "USERNAME"


def _handle(c):
    u, _ = c.get("USER")
    return "@" + u.replace(".", "_"), "USERNAME"


def _email(c):
    first, last = c.first_last()
    rng = c.rng
    if rng.random() < 0.5:
        def asc(s):
            s = "".join(ch for ch in s.lower() if ch.isascii() and ch.isalnum())
            return s or letters(rng, 5, up=False)
        dom = rng.choice(["gmail.com", "yahoo.com", "outlook.com", "hotmail.co.uk", "web.de", "gmx.de", "orange.fr", "free.fr", "yahoo.es", "proton.me"]) if rng.random() < 0.6 else try_call(c.fen, None, "free_email_domain")
        return asc(first) + rng.choice([".", "_", ""]) + asc(last) + rng.choice(["", "", str(rng.randint(1, 99))]) + "@" + dom, "EMAIL"
    return try_call(c.f, c.fen, "email"), "EMAIL"


def _age(c):
    rng = c.rng
    return str(rng.choice([rng.randint(1, 17), rng.randint(18, 65), rng.randint(18, 65), rng.randint(60, 99)])), "AGE"


GEN = {
    "PER": _person,
    "FIRST": lambda c: (c.first_last()[0], "PERSON"),
    "LAST": lambda c: (c.first_last()[1], "PERSON"),
    "FAMOUS": lambda c: (c.rng.choice(FAMOUS_PEOPLE), "PERSON"),
    "ORG": _org,
    "BIGORG": lambda c: (c.rng.choice(FAMOUS_ORGS), "ORGANIZATION"),
    "CITY": _city,
    "PLACE": lambda c: (c.rng.choice(FAMOUS_PLACES), "LOCATION"),
    "COUNTRY": _country,
    "STATE": lambda c: (try_call(c.f, c.fen, "state") or try_call(c.fen, None, "state"), "LOCATION"),
    "ZIP": lambda c: (try_call(c.f, c.fen, "postcode"), "LOCATION"),
    "ADDR": lambda c: (street_address(c.rng, c.f, c.fen, c.locale), "STREET_ADDRESS"),
    "ADDR_FULL": lambda c: (full_address(c.rng, c.f, c.fen, c.locale), "STREET_ADDRESS"),
    "DOB": _dob,
    "DATE": _date,
    "AGE": _age,
    "USER": _user,
    "HANDLE": _handle,
    "PASS": lambda c: (password(c.rng, c.f, c.fen), "PASSWORD"),
    "NID": lambda c: (national_id(c.rng, c.locale, c.f, c.fen), "NATIONAL_ID"),
    "PASSPORT": lambda c: (passport(c.rng, c.locale, c.f, c.fen), "PASSPORT"),
    "DL": lambda c: (driver_license(c.rng, c.locale, c.f, c.fen, c.first_last()[1]), "DRIVER_LICENSE"),
    "MRN": lambda c: (medical_id(c.rng), "MEDICAL_ID"),
    "ACCT": lambda c: (account_number(c.rng, c.f, c.fen), "ACCOUNT_NUMBER"),
    "OID": lambda c: (other_id(c.rng), "OTHER_ID"),
    "EMAIL": _email,
    "PHONE": lambda c: (phone(c.rng, c.f, c.fen), "PHONE"),
    "CC": lambda c: (c.fen.credit_card_number(), "CREDIT_CARD"),
    "IBAN": lambda c: (try_call(c.f, c.fen, "iban"), "IBAN"),
    "SSN": lambda c: (c.fen.ssn(), "US_SSN"),
    "IP": lambda c: (c.fen.ipv4() if c.rng.random() < 0.8 else c.fen.ipv6(), "IP_ADDRESS"),
    "URL": lambda c: (c.fen.url() + (c.fen.uri_path() if c.rng.random() < 0.4 else ""), "URL"),
    "CRYPTO": lambda c: (crypto(c.rng), "CRYPTO_ADDRESS"),
    "APIKEY": lambda c: (api_key(c.rng), "API_KEY"),
}

# ---- non-PII fillers (label None) ----
PRODUCTS = ["iPhone 15", "Galaxy S23", "PlayStation 5", "MacBook Pro", "Excel", "Slack", "Jira", "Kubernetes",
            "Windows 11", "Outlook", "Zoom", "Teams", "Photoshop", "Kindle", "AirPods", "Xbox", "Python",
            "PostgreSQL", "Docker", "React", "Word", "Chrome", "Firefox", "Android", "Jordan sneakers",
            "Apple pie", "Nintendo Switch", "Model 3", "Salesforce", "SAP", "WordPress", "Shopify", "Notion"]
JOBS = ["Senior Software Engineer", "Head of Marketing", "nurse practitioner", "Chief Financial Officer",
        "data analyst", "Product Manager", "registered nurse", "paralegal", "attorney", "project manager",
        "Customer Success Manager", "Sales Director", "teacher", "Operations Lead", "cardiologist",
        "Software Developer", "intern", "HR Business Partner", "Account Executive", "CTO", "DevOps engineer",
        "Ingeniero de Software", "Jefe de Ventas", "Projektleiter", "Softwareentwickler", "Chef de projet",
        "Développeur", "médico de familia", "Krankenschwester", "infirmière"]
FILL = {
    "amount": lambda r: r.choice([f"${r.randint(5, 5000)}.{r.randint(0, 99):02d}", f"€{r.randint(5, 900)}",
                                  f"{r.randint(2, 900)} EUR", f"£{r.randint(1, 999)}", f"{r.randint(1, 99)}%",
                                  f"{r.randint(1, 20)} items", f"${r.randint(1, 99)},{r.randint(100, 999)}",
                                  f"{r.randint(10, 999)},{r.randint(0, 99):02d} €", f"USD {r.randint(10, 9999)}"]),
    "n": lambda r: str(r.randint(2, 99999)),
    "small": lambda r: str(r.randint(1, 12)),
    "time": lambda r: r.choice([f"{r.randint(1, 12)}:{r.choice(['00', '15', '30', '45'])} {r.choice(['am', 'pm', 'AM', 'PM'])}",
                                f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}", f"{r.randint(1, 12)}pm", "noon", "midnight"]),
    "ver": lambda r: r.choice([f"v{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}", f"{r.randint(1, 20)}.{r.randint(0, 9)}",
                               f"Python 3.{r.randint(6, 13)}", f"iOS {r.randint(12, 18)}.{r.randint(0, 4)}", f"build {r.randint(100, 9999)}"]),
    "product": lambda r: r.choice(PRODUCTS),
    "job": lambda r: r.choice(JOBS),
    "weekday": lambda r: r.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
                                   "tomorrow", "next week", "tonight", "this morning", "lunes", "Montag", "lundi"]),
    "order": lambda r: r.choice(["#", "", "ORD-", "no. "]) + str(r.randint(1000, 9999999)),
    "ts": lambda r: f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z",
    "status": lambda r: r.choice(["active", "pending", "ok", "failed", "closed", "ACTIVE", "verified"]),
    "plan": lambda r: r.choice(["free", "pro", "enterprise", "basic", "premium"]),
    "prio": lambda r: r.choice(["low", "high", "P1", "P2", "urgent"]),
    "hashtag": lambda r: r.choice(["#tbt", "#MondayMotivation", "#love", "#fail", "#blessed", "#WorldCup", "#music",
                                   "#news", "#fitness", "#nowplaying", "#ff", "#gameday", "#tech", "#AI", "#foodie", "#travel"]),
    "lol": lambda r: r.choice(["lol", "lmao", "omg", "smh", "haha", "😂", "🙏", "❤️", "😍", "ugh", "tbh", "idk", "rn", "!!!", ":)", ":("]),
    "dose": lambda r: r.choice(["500 mg", "10mg", "20 mg twice daily", "5 ml", "1 tablet", "250mg"]),
    "drug": lambda r: r.choice(["metformin", "ibuprofen", "amoxicillin", "lisinopril", "atorvastatin", "paracetamol", "insulin", "omeprazole"]),
    "cond": lambda r: r.choice(["type 2 diabetes", "hypertension", "asthma", "migraine", "a fractured wrist", "pneumonia", "COVID-19", "anxiety"]),
    "room": lambda r: r.choice(["room 4B", "Room 12", "ward 7", "bay 3", "conference room B"]),
    "url_pub": lambda r: r.choice(["http://t.co/" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(10))]),
}


def _fill_get(orig):
    def get(self, key):
        if key in FILL:
            return FILL[key](self.rng), None
        return orig(self, key)
    return get


Ctx.get = _fill_get(Ctx.get)
