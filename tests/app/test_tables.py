"""Loading the configured tables: the checks across tables."""

import pytest

from segml.app.tables import load_tables
from segml.config import Config
from segml.errors import SegmlDataError


def _config(tmp_path, customers_ids, events_ids=None):
    (tmp_path / "tx.csv").write_text(
        "customer_id,ts,amount\n7,2024-01-02,10\n8,2024-01-03,5\n"
    )
    (tmp_path / "customers.csv").write_text(
        "customer_id,country\n" + "".join(f"{i},fr\n" for i in customers_ids)
    )
    data = {
        "source": "files",
        "transactions": str(tmp_path / "tx.csv"),
        "customers": str(tmp_path / "customers.csv"),
    }
    if events_ids is not None:
        (tmp_path / "events.csv").write_text(
            "customer_id,ts,kind\n"
            + "".join(f"{i},2024-01-01,visit\n" for i in events_ids)
        )
        data["events"] = str(tmp_path / "events.csv")
    return Config.model_validate({"data": data}).data


def test_ids_written_two_ways_across_tables_are_an_error(tmp_path):
    # customer "007" is the buyer "7" padded by another system: silently, it
    # would be a lead with no purchase and "7" a buyer without attributes
    with pytest.raises(SegmlDataError) as err:
        load_tables(_config(tmp_path, ["007", "8", "9"]))
    assert err.value.table == "customers" and err.value.column == "customer_id"
    assert "007" in str(err.value) and "'7'" in str(err.value)


def test_events_ids_are_checked_too(tmp_path):
    with pytest.raises(SegmlDataError) as err:
        load_tables(_config(tmp_path, ["7", "8"], events_ids=["08"]))
    assert err.value.table == "events"


def test_leads_with_their_own_ids_load(tmp_path):
    tables = load_tables(_config(tmp_path, ["7", "8", "9"], events_ids=["9"]))
    assert sorted(tables.customers["customer_id"]) == ["7", "8", "9"]
