"""Repeated element groups (CAS triplets, PLB pairs) come out in file order, one row per
non-empty group, keeping the group's position in the segment as its index."""

from __future__ import annotations

from decimal import Decimal

from rcm.era import parse_835_files


def test_adjustment_rows_in_file_order_with_gaps(fixtures, tmp_path):
    text = (fixtures / "cas_six_triplets.835").read_text()
    # an empty second triplet: skipped, the third keeps triplet_index 3
    text = text.replace("CAS*PR*1*100.00**2*50.00", "CAS*PR*1*100.00*****2*50.00")
    path = tmp_path / "gap.835"
    path.write_text(text, newline="")
    t = parse_835_files([path])
    adj = t.line_adjustments
    assert adj.equals(adj.sort("segment_position", "triplet_index", maintain_order=True))
    pr = adj.filter(group_code="PR")
    assert pr.get_column("triplet_index").to_list() == [1, 3]
    assert pr.get_column("reason_code").to_list() == ["1", "2"]
    assert pr.get_column("adjustment_amount").to_list() == [Decimal("100.00"), Decimal("50.00")]
    co = adj.filter(group_code="CO")
    assert co.get_column("triplet_index").to_list() == [1, 2, 3, 4, 5, 6]


def test_provider_adjustment_pairs_in_order(fixtures):
    t = parse_835_files([fixtures / "plb_pairs.835"])
    plb = t.provider_adjustments
    assert plb.height > 0
    assert plb.equals(plb.sort("segment_position", "pair_index", maintain_order=True))
    assert plb.get_column("adjustment_reason_code").null_count() == 0
