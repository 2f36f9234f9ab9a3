#!/usr/bin/env python3
"""Scrapes a page's titles: the work Koii lists first.

work: the titles (`h2.title`) of SCRAPE_URL, as JSON.
audit: scrape again; the result must be the same titles.
It also tries UNDECLARED_URL, which its manifest does not name, and says on
stderr what became of that (`UNDECLARED ...`).
"""

import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))
from bs4 import BeautifulSoup  # noqa: E402  (vendored)

from gradual_task import run  # noqa: E402


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read()


def titles():
    soup = BeautifulSoup(fetch(os.environ["SCRAPE_URL"]), "html.parser")
    return json.dumps([title.get_text(strip=True) for title in soup.select("h2.title")]).encode()


def work(context):
    result = titles()
    try:
        fetch(os.environ["UNDECLARED_URL"])
        outcome = "ALLOWED"
    except OSError as error:
        outcome = f"refused {type(error).__name__}: {error}"
    sys.stderr.write(f"UNDECLARED {outcome}\n")
    return result


def audit(round, submission, result):
    if result != titles():
        return False, "the titles differ from the page's"
    return True


if __name__ == "__main__":
    run(work=work, audit=audit)
