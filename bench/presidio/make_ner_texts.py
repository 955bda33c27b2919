#!/usr/bin/env python3
"""Generate bench/ner_texts.json: four synthetic LLM prompts (~256 B, 1 KB, 4 KB, 16 KB of UTF-8)
mixing ordinary prose with personal data. Deterministic: no randomness beyond a fixed seed, so
re-running reproduces the committed file byte for byte. All personal data is invented; card
numbers are well-known test numbers, phone numbers use reserved/fictional ranges
(555-01xx, +44 20 7946 0xxx), IBANs are documentation examples, e-mail domains are example.*.

Usage: python3 bench/presidio/make_ner_texts.py [--out bench/ner_texts.json] [--check]
"""
import argparse
import json
import random
from pathlib import Path

TARGETS = {"256b": 256, "1kb": 1024, "4kb": 4096, "16kb": 16384}

T256 = (
    "Rewrite this politely: hi, I'm María José Fernández. Card 4111 1111 1111 1111 was "
    "charged twice on 12/03/2024. Refund it and call me on +34 612 345 678 or mail "
    "maria.fernandez@example.es. I live at Calle de Alcalá 42, 28014 Madrid. Thanks, María"
)

T1K = """You are a support assistant. Summarise the ticket below in three bullet points and draft a reply.

Ticket #48213 (priority: high), opened 2024-05-14 09:12 UTC
From: Oluwaseun Adeyemi <seun.adeyemi@example.com>
Phone: (415) 555-0132

Hello, my name is Oluwaseun Adeyemi and I have been a customer since 2019. Last Tuesday my \
order (#A-77120) was delivered to the wrong address. It should have gone to 1847 Maple Grove \
Avenue, Apt 3B, Portland, OR 97205, but the courier left it at 1874 Maple Grove Ave instead. \
My neighbour, Mrs. Kowalczyk, saw the driver but could not stop him.

I paid with my Mastercard ending 5555 5555 5555 4444 and I would like either a replacement or a \
refund. My date of birth is 07/22/1986 if you need it to verify the account. Please do not \
call my work number (503-555-0178); my colleague Hiroshi Tanaka picks up that line.

Thanks,
Seun

Internal note (agent Chloé Dubois): customer verified by e-mail. Previous ticket #47002 \
closed on 2024-02-03. Escalate to logistics if no tracking update by Friday."""

SECTION_EMAIL = """Please read the e-mail thread below and list every action item with its owner and due date.

-----Original Message-----
From: Siobhán O'Sullivan <siobhan.osullivan@example.ie>
Sent: Monday, 4 March 2024 08:47
To: Rajesh Kumar Iyer <rajesh.iyer@example.in>; Anna Lindqvist <anna.lindqvist@example.se>
Cc: Tomás Ruiz <t.ruiz@example.mx>
Subject: RE: Q2 onboarding for the Dublin office

Hi Rajesh, hi Anna,

Following our call, here is what we agreed. Rajesh will send the signed lease for 14 Harcourt \
Street, Dublin 2, D02 YX88 to the landlord by 15 March. Anna will order twelve laptops and have \
them shipped to the same address; the delivery contact is our office manager, Niamh Byrne, \
on +353 1 555 0199. Tomás owns the payroll set-up: new starters need their PPS numbers and \
IBANs on file before 1 April, e.g. IE29 AIBK 9311 5212 3456 78 for the test account.

I will be travelling from 18 to 22 March; in an emergency reach me on my mobile, \
+353 87 555 0143.

Best regards,
Siobhán

-----Original Message-----
From: Rajesh Kumar Iyer <rajesh.iyer@example.in>
Sent: Friday, 1 March 2024 17:02
To: Siobhán O'Sullivan <siobhan.osullivan@example.ie>

Siobhán, quick one: the landlord's agent, Mr. Declan Murphy (declan@murphy-lettings.example.ie), \
asked for a company credit card to hold the deposit. Can we use the Amex on file, \
3782 822463 10005, or should finance wire it from GB82 WEST 1234 5698 7654 32? \
Also, Wei Zhang from IT needs the static IP for the router (currently 203.0.113.47).

Thanks, Rajesh
"""

SECTION_CV = """Improve the wording of this CV and shorten it to one page. Keep the facts.

CURRICULUM VITAE
Name: Nguyễn Thị Minh Anh
Address: 56 Rue des Lilas, 69003 Lyon, France
E-mail: minhanh.nguyen@example.fr | Phone: +33 6 55 55 01 27
Date of birth: 9 November 1991 | LinkedIn: linkedin.com/in/minhanh-nguyen-example

Profile
Data engineer with eight years of experience building pipelines for retail and healthcare \
clients. Fluent in French, Vietnamese and English; working knowledge of German.

Experience
2020 - present  Senior Data Engineer, Lumière Analytics, Lyon. Led a team of five; migrated \
the reporting stack from nightly batches to streaming, cutting latency from hours to minutes. \
Manager: Dr. Katarzyna Wiśniewska.
2016 - 2020  Data Engineer, Hôpital Saint-Joseph, Paris. Built the anonymisation layer for \
research exports; worked with Prof. Jean-Baptiste Moreau on the cardiology registry.

Education
2014 - 2016  MSc Computer Science, Université Claude Bernard Lyon 1.

References
Ahmed Al-Farsi, CTO, ahmed.alfarsi@example.ae, +971 50 555 0161
Sarah Goldberg, 2217 Lakeview Drive, Evanston, IL 60201, (847) 555-0190
"""

SECTION_CLINICAL = """Summarise this clinical note for the discharge letter in plain language.

CLINICAL NOTE - Emergency Department, St. Mary's General Hospital
Patient: Mohammed Rahman   DOB: 02/14/1958   MRN: 004-118-2273
Address: 390 Oak Ridge Road, Springfield, IL 62704   Tel: 217-555-0114
SSN on file: 219-09-9999   Insurance member ID: XJH-448210-07
Next of kin: Fatima Rahman (wife), 217-555-0115
Attending: Dr. Elena Petrova   Resident: Dr. Kwame Mensah

History: 66-year-old man presenting on 3 Jan 2024 at 02:40 with central chest pain radiating \
to the left arm for 40 minutes, diaphoresis and nausea. Known type 2 diabetes, hypertension. \
Medications: metformin 1 g twice daily, lisinopril 10 mg daily. No known drug allergies. \
Ex-smoker (30 pack-years, quit 2015).

Examination: BP 158/94, HR 102, SpO2 95% on air. Heart sounds normal, chest clear.
ECG: ST elevation in II, III, aVF. Troponin I 2.4 ng/mL (ref < 0.04).
Plan: aspirin 300 mg, ticagrelor 180 mg, heparin per protocol; cath lab activated at 02:58. \
Daughter Aisha Rahman (aisha.rahman@example.com) to be updated by phone after the procedure.
"""

SECTION_TICKET = """Classify the following ticket (billing / technical / account) and reply to the customer.

Ticket #52990, 2024-06-02 14:31
Customer: Björn Håkansson, Sveavägen 12, 111 57 Stockholm, Sweden
E-mail: bjorn.hakansson@example.se  Phone: +46 8 555 012 34

Hej! I changed my card last month (new Visa 4012 8888 8888 1881, expires 09/27) but your \
system still tries to charge the old one and my account was suspended on 28 May. My username \
is bjorn_h and my colleague Ingrid Solberg (ingrid.solberg@example.no) has the same problem. \
Could you also update my billing address? It is now Götgatan 78, 118 30 Stockholm.
"""

FIRST = ["Liam", "Ayesha", "Kenji", "Olga", "Mateo", "Chiara", "Dmitri", "Fatoumata", "Yuki",
         "Sven", "Priya", "Carlos", "Zainab", "Hannah", "Arjun", "Mei", "Joaquín", "Ngozi",
         "Lukas", "Sofía", "Ravi", "Ingrid", "Kwabena", "Leila", "Pavel", "Aroha"]
LAST = ["O'Connor", "Siddiqui", "Watanabe", "Kuznetsova", "González", "Esposito", "Volkov",
        "Diallo", "Nakamura", "Johansson", "Venkatesan", "Mendoza", "Okafor", "Schmidt",
        "Chatterjee", "Lin", "Herrera", "Eze", "Bauer", "Castillo", "Menon", "Larsen",
        "Asante", "Haddad", "Novák", "Ngata"]
STREETS = ["Elm Street", "Harbour Road", "Kings Avenue", "Birch Lane", "Station Road",
           "Willow Crescent", "Market Street", "Cedar Court", "Riverside Drive", "Hillcrest Way"]
CITIES = ["Leeds LS1 4DY", "Austin, TX 78701", "Toronto, ON M5V 2T6", "Auckland 1010",
          "Cape Town 8001", "Denver, CO 80202", "Manchester M1 2AB", "Seattle, WA 98101"]
DOMAINS = ["example.com", "example.org", "example.net", "example.co.uk"]
LEVELS = ["INFO", "ERROR", "INFO", "DEBUG", "INFO", "WARN"]  # by log-line kind


def _person(rng):
    return rng.choice(FIRST), rng.choice(LAST)


def _email(first, last, rng):
    local = (first + "." + last).lower().replace("'", "")
    local = local.encode("ascii", "ignore").decode() or "user"
    return f"{local}@{rng.choice(DOMAINS)}"


def _log_line(i, rng):
    first, last = _person(rng)
    sec = 8 * 3600 + i * 47 + rng.randint(0, 40)  # monotonic, starting 08:00
    ts = f"2024-06-03T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"
    ip = f"198.51.100.{(i * 37) % 250 + 1}"
    kind = i % 6
    if kind == 0:
        msg = f"login ok user={_email(first, last, rng)} ip={ip}"
    elif kind == 1:
        msg = (f"payment failed for {first} {last}: card ****{rng.randint(1000, 9999)} "
               f"declined (code 05), order #{70000 + i}")
    elif kind == 2:
        msg = (f"address updated customer_id={100200 + i} new=\"{rng.randint(2, 998)} "
               f"{rng.choice(STREETS)}, {rng.choice(CITIES)}\"")
    elif kind == 3:
        msg = f"sms sent to +1-555-01{rng.randint(0, 99):02d} template=otp status=delivered"
    elif kind == 4:
        msg = f"GET /api/v2/orders/{80000 + i} 200 {rng.randint(8, 240)}ms ip={ip}"
    else:
        msg = f"password reset requested by {first} {last} <{_email(first, last, rng)}>"
    return f"{ts} {LEVELS[i % len(LEVELS)]:5} [gateway] {msg}"


def _with_logs(head, target, rng):
    """Append an application-log excerpt to `head` until the UTF-8 size reaches target."""
    out = head + "\nAlso explain the errors in this application log excerpt:\n\n"
    i = 0
    while True:
        line = _log_line(i, rng) + "\n"
        if len((out + line).encode()) > target:
            break
        out += line
        i += 1
    return out.rstrip("\n")


def build():
    rng = random.Random(20240601)
    texts = {
        "256b": T256,
        "1kb": T1K,
        "4kb": _with_logs(SECTION_EMAIL, 4096, rng),
        "16kb": _with_logs("\n\n".join([SECTION_TICKET, SECTION_EMAIL, SECTION_CV,
                                         SECTION_CLINICAL]), 16384, rng),
    }
    for k, target in TARGETS.items():
        n = len(texts[k].encode("utf-8"))
        assert abs(n - target) <= 0.1 * target, (k, n, target)
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "ner_texts.json"))
    ap.add_argument("--check", action="store_true", help="only verify the file is up to date")
    args = ap.parse_args()
    data = json.dumps(build(), ensure_ascii=False, indent=2) + "\n"
    if args.check:
        same = Path(args.out).read_text(encoding="utf-8") == data
        print("up to date" if same else "STALE")
        raise SystemExit(0 if same else 1)
    Path(args.out).write_text(data, encoding="utf-8")
    for k, v in json.loads(data).items():
        print(f"{k:5} {len(v.encode('utf-8')):6} bytes {len(v):6} chars")


if __name__ == "__main__":
    main()
