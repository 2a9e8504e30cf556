"""``garment-transfer sizes``: parameters and MACs of every network of every method, beside the published counts."""

from __future__ import annotations

import pytest
import torch

from garment_transfer.cli import main
from garment_transfer.models.complexity import count_macs
from garment_transfer.models.pfafn.networks import build_pf_afwm
from garment_transfer.tools.sizes import networks, size_rows


def _table(text: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| ")]
    return {cells[1].strip(): [c.strip() for c in cells] for cells in rows[1:]}


def test_sizes_prints_pfafns_exact_parameter_counts_beside_the_official_ones(capsys):
    assert main(["sizes", "--method", "pfafn", "--size", "64x48"]) == 0
    table = _table(capsys.readouterr().out)
    expected = {
        "PB-AFWM parser-based warp": "29,328,692",
        "PF-AFWM parser-free warp": "29,304,416",
        "PB generator (8 -> 4)": "43,900,544",
        "PF generator (7 -> 4)": "43,899,968",
        "inference PF-AFWM + PF generator": "73,204,384",
    }
    assert set(table) == set(expected)
    for name, count in expected.items():
        method, _, params, macs, published = table[name]
        assert method == "pfafn" and params.startswith(f"{count} (") and published == f"{count} (official code)"
        assert macs.endswith(" G")


def test_rows_measure_each_network_and_groups_sum_their_members():
    rows = size_rows(64, 48, "tiny", 3, ("distilled_transfer",))
    names = [name for _, name, *_ in rows]
    assert names == [
        "T_P try-on parsing teacher",
        "S_P transfer parsing student",
        "T_W try-on warping teacher",
        "S_W transfer warping student",
        "R arm regrowth",
        "pipeline S_P + S_W + R",
    ]
    by_name = {name: (params, macs) for _, name, params, macs, _ in rows}
    members = ("S_P transfer parsing student", "S_W transfer warping student", "R arm regrowth")
    assert by_name["pipeline S_P + S_W + R"] == tuple(sum(by_name[m][i] for m in members) for i in (0, 1))
    published = {name: pub for _, name, _, _, pub in rows}
    assert published["S_P transfer parsing student"] == "44.10 M / 28.62 G (paper Table 2)"
    assert published["R arm regrowth"] == "43.90 M / 21.86 G (paper Table 2)"


def test_macs_are_counted_at_the_requested_size():
    shape = (1, 3, 128, 96), (1, 1, 128, 96), (1, 3, 128, 96)
    expected = count_macs(build_pf_afwm({"width": "tiny"}), tuple(torch.zeros(s) for s in shape))
    rows = {name: macs for _, name, _, macs, _ in size_rows(128, 96, "tiny", 3, ("pfafn",))}
    small = {name: macs for _, name, _, macs, _ in size_rows(64, 48, "tiny", 3, ("pfafn",))}
    assert rows["PF-AFWM parser-free warp"] == expected
    assert rows["PF-AFWM parser-free warp"] > 3 * small["PF-AFWM parser-free warp"]


def test_bad_size_is_a_one_line_error(capsys):
    assert main(["sizes", "--size", "100x50"]) == 2
    assert "multiples of 16" in capsys.readouterr().err
    with pytest.raises(ValueError, match="width must be one of"):
        networks("huge")
