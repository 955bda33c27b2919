#!/usr/bin/env python3
"""Write src/ner/scope/common.txt: lower-case English words common enough that a PERSON
span made only of them, written all in lower case, is an ordinary word ("rice", "soup",
"lamb"), not a name typed in lower case ("tell mike"). Given names are left out, so that
"mike", "jenny" or "rose" in lower case stay names.

Words: wordfreq's English list (Zipf frequency >= 3.0, letters only, 3+ letters; wordfreq
by Robyn Speer, Apache-2.0 code, data CC BY-SA 4.0). Given names: the first-name lists of
Faker's person providers in every locale (MIT).

    python common_words.py ../src/ner/scope/common.txt
"""
import sys

from name_lexicon import faker_names
from wordfreq import top_n_list, zipf_frequency

MIN_ZIPF = 3.0

# Short forms of given names that Faker's lists do not carry.
NICKNAMES = {"jen", "jenn", "jess", "liz", "lizzie", "beth", "kate", "katie", "sam", "alex", "chris", "matt",
             "dave", "steve", "tom", "ben", "nick", "dan", "rob", "jim", "joe", "bob", "bill", "pat", "kim", "sue",
             "meg", "abby", "becky", "cathy", "andy", "tony", "mel", "val", "ron", "don", "ted", "ray", "ed", "al",
             "mike", "mo", "max", "gabe", "nate", "zach", "josh", "jon", "greg", "jeff", "fred", "hank", "rick",
             "vic", "viv", "deb", "barb", "gwen", "ali", "lou", "stu", "gus", "vin", "ken", "len", "les"}


def given_names():
    """Given names of every Faker locale, as the lower-case words they are made of."""
    names, _ = faker_names(prefixes=("first_names",))
    return {part.lower() for n in names for part in n.replace("-", " ").split()}


def main():
    out_path = sys.argv[1]
    names = given_names()
    words = sorted(
        w for w in top_n_list("en", 60000)
        if w.isalpha() and w.islower() and len(w) >= 3 and zipf_frequency(w, "en") >= MIN_ZIPF and w not in names and w not in NICKNAMES
    )
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("# Common lower-case English words that are not given names (training/common_words.py:\n")
        f.write("# wordfreq English list, Zipf >= 3.0, data CC BY-SA 4.0 by Robyn Speer; minus Faker's first\n")
        f.write("# names in every locale). An all-lower-case PERSON span made only of these is dropped.\n")
        for w in words:
            f.write(w + "\n")
    print(f"{len(words)} words ({len(names)} given names left out) -> {out_path}")


if __name__ == "__main__":
    main()
