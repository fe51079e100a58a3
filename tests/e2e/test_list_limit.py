"""`trashscan list --limit N`: the N first items of the sort (the most urgent by default), in
every format, while the totals under the table still cover everything matched."""

from __future__ import annotations

import re

import pytest

ALL = 13  # the local-trash sandbox's photos and videos (laptop and usb-stick)


def test_limit_keeps_the_first_items_of_the_sort_in_every_format(cli):
    everything = cli("list", "--format", "json").json()
    assert len(everything) == ALL
    first = [item["ref"] for item in everything[:3]]
    as_json = cli("list", "--cached", "--limit", "3", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert [item["ref"] for item in as_json.json()] == first
    as_jsonl = cli("list", "--cached", "--limit", "3", "--format", "jsonl")
    assert [line.split('"ref": "')[1][:8] for line in as_jsonl.stdout.splitlines()] == first
    as_csv = cli("list", "--cached", "--limit", "3", "--format", "csv")
    assert len(as_csv.stdout.splitlines()) == 1 + 3
    quiet = cli("list", "--cached", "--limit", "3", "-q")
    assert quiet.stdout.split() == first
    by_name = cli("list", "--cached", "--sort", "name", "--format", "json").json()
    limited = cli("list", "--cached", "--sort", "name", "--limit", "2", "--format", "json")
    assert limited.json() == by_name[:2]


def test_limit_zero_or_more_than_there_are_lists_everything(cli):
    cli("scan")
    for limit in ("0", str(ALL), "1000"):
        shown = cli("list", "--cached", "--limit", limit, "--format", "json")
        assert len(shown.json()) == ALL, limit


def test_the_table_says_how_many_of_how_many_it_shows(cli):
    cli("scan")
    table = cli("list", "--cached", "--limit", "4")
    assert table.exit_code == 0, table.stderr
    refs = [line for line in table.stdout.splitlines() if re.match(r"[0-9a-f]{8}  ", line)]
    assert len(refs) == 4
    assert f"total: {ALL} items" in table.stdout  # the totals are of everything matched
    assert f"4 of {ALL} shown" in table.stdout
    whole = cli("list", "--cached")
    assert " shown" not in whole.stdout
    enough = cli("list", "--cached", "--limit", str(ALL))
    assert " shown" not in enough.stdout  # nothing was left out


@pytest.mark.parametrize("bad", ["-1", "ten"])
def test_a_bad_limit_is_a_usage_error(cli, bad):
    result = cli("list", "--cached", "--limit", bad)
    assert result.exit_code == 2
    assert "--limit" in result.stderr and "Traceback" not in result.stderr
    assert "No such option" not in result.stderr
