"""Tests of the synthetic CRM generator: contract, integrity and planted signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from segml.data import validate_customers, validate_events, validate_transactions
from segml.datasets import PERSONA_NAMES, CRMData, make_crm

ATTRIBUTES = [
    "industry",
    "region",
    "company_size",
    "acquisition_channel",
    "lead_source",
]
START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2025-01-01")  # END exclusive


@pytest.fixture(scope="module")
def crm() -> CRMData:
    return make_crm(3000, seed=0)


def _buyers(crm: CRMData) -> pd.Series:
    return crm.customers["customer_id"].isin(crm.transactions["customer_id"])


# --- contract -----------------------------------------------------------------------


def test_same_seed_gives_identical_tables():
    a, b = make_crm(400, seed=7), make_crm(400, seed=7)
    assert_frame_equal(a.customers, b.customers)
    assert_frame_equal(a.transactions, b.transactions)
    assert_frame_equal(a.events, b.events)


def test_different_seeds_give_different_tables():
    a, b = make_crm(400, seed=7), make_crm(400, seed=8)
    for name in ("customers", "transactions", "events"):
        with pytest.raises(AssertionError):
            assert_frame_equal(getattr(a, name), getattr(b, name))


def test_tables_are_canonical(crm):
    assert_frame_equal(validate_customers(crm.customers), crm.customers)
    assert_frame_equal(validate_transactions(crm.transactions), crm.transactions)
    assert_frame_equal(validate_events(crm.events), crm.events)
    for frame in (crm.customers, crm.transactions, crm.events):
        assert isinstance(frame.index, pd.RangeIndex)
        for column, dtype in frame.dtypes.items():
            if column in ("ts", "signup_ts"):
                assert dtype == "datetime64[us]", column
            elif pd.api.types.is_numeric_dtype(dtype):
                assert dtype == "float64", column
            else:
                assert dtype == pd.StringDtype(na_value=np.nan), column
        assert not frame.isna().drop(columns="value", errors="ignore").any().any()


def test_columns(crm):
    assert list(crm.customers.columns) == [
        "customer_id",
        "signup_ts",
        *ATTRIBUTES[:3],
        "employees",
        *ATTRIBUTES[3:],
    ]
    assert set(crm.transactions.columns) == {
        "order_id",
        "customer_id",
        "ts",
        "amount",
        "quantity",
        "cost",
        "product_id",
        "category",
        "channel",
        "discount",
        "status",
    }
    assert list(crm.events.columns) == ["customer_id", "ts", "kind", "value"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_customers"):
        make_crm(0)
    with pytest.raises(TypeError, match="n_customers"):
        make_crm(10.5)
    with pytest.raises(ValueError, match="lead_share"):
        make_crm(10, lead_share=1.5)
    with pytest.raises(ValueError, match="before start"):
        make_crm(10, start="2024-01-01", end="2023-01-01")


def test_custom_period_bounds_every_time():
    crm = make_crm(300, seed=3, start="2023-03-15", end="2023-09-30")
    lo, hi = pd.Timestamp("2023-03-15"), pd.Timestamp("2023-10-01")
    for frame, column in (
        (crm.customers, "signup_ts"),
        (crm.transactions, "ts"),
        (crm.events, "ts"),
    ):
        assert frame[column].min() >= lo
        assert frame[column].max() < hi
    assert len(crm.transactions) > 0


# --- integrity ----------------------------------------------------------------------


def test_keys_and_leads(crm):
    customers = crm.customers
    assert len(customers) == 3000
    assert customers["customer_id"].is_unique
    assert customers["customer_id"].iloc[0] == "C000001"
    known = set(customers["customer_id"])
    assert set(crm.transactions["customer_id"]) <= known
    assert set(crm.events["customer_id"]) <= known
    leads = ~_buyers(crm)
    assert leads.mean() == pytest.approx(0.15, abs=0.01)
    # leads sign up later than buyers and still show up on the web site
    signup = customers["signup_ts"]
    assert signup[leads].median() > signup[~leads].median() + pd.Timedelta(days=90)
    lead_ids = customers.loc[leads, "customer_id"]
    lead_events = crm.events[crm.events["customer_id"].isin(lead_ids)]
    assert set(lead_events["kind"]) == {"web_visit"}


def test_signups_spread_over_the_period(crm):
    per_year = crm.customers["signup_ts"].dt.year.value_counts()
    assert set(per_year.index) == {2022, 2023, 2024}
    assert per_year.min() > 0.2 * len(crm.customers)


def test_nothing_happens_before_signup(crm):
    signup = crm.customers.set_index("customer_id")["signup_ts"]
    for frame in (crm.transactions, crm.events):
        assert (frame["ts"] >= frame["customer_id"].map(signup)).all()


def test_sorted_by_time(crm):
    assert crm.transactions["ts"].is_monotonic_increasing
    assert crm.events["ts"].is_monotonic_increasing


def test_returns_follow_an_earlier_order_of_the_same_customer(crm):
    tx = crm.transactions
    returned = tx["status"] == "returned"
    assert set(tx["status"]) == {"completed", "returned"}
    assert (tx.loc[returned, "amount"] < 0).all()
    assert (tx.loc[~returned, "amount"] > 0).all()
    assert 0.01 < returned.mean() < 0.06
    sales = (
        tx[~returned]
        .groupby("order_id")
        .agg(customer_id=("customer_id", "first"), ts=("ts", "min"))
    )
    back = tx[returned].join(sales.add_suffix("_sale"), on="order_id")
    assert back["customer_id_sale"].notna().all()
    assert (back["customer_id"] == back["customer_id_sale"]).all()
    assert (back["ts"] > back["ts_sale"]).all()
    # an order is sold by one customer at one time
    one = tx[~returned].groupby("order_id")[["customer_id", "ts"]].nunique()
    assert (one == 1).all().all()


def test_order_lines_are_plausible(crm):
    sales = crm.transactions[crm.transactions["status"] == "completed"]
    assert sales["discount"].between(0, 0.5).all()
    assert sales["discount"].gt(0).mean() > 0.2
    assert (sales["quantity"] >= 1).all()
    assert (sales["cost"] > 0).all()
    margin = (sales["amount"] - sales["cost"]).groupby(sales["category"]).sum()
    rate = margin / sales.groupby("category")["amount"].sum()
    assert rate.max() - rate.min() > 0.3  # margin depends on the category
    lines = sales.groupby("order_id").size()
    assert lines.max() > 1 and lines.mean() < 3


def test_events(crm):
    ev = crm.events
    assert set(ev["kind"]) == {
        "complaint",
        "support_ticket",
        "nps",
        "payment",
        "web_visit",
    }
    nps = ev.loc[ev["kind"] == "nps", "value"]
    assert nps.between(0, 10).all() and (nps == nps.round()).all()
    assert nps.nunique() > 5
    late = ev.loc[ev["kind"] == "payment", "value"]
    assert (late >= 0).all()
    other = ev.loc[~ev["kind"].isin(["nps", "payment"]), "value"]
    assert other.isna().all()
    # one payment per order, except orders not yet paid when the period ends
    # (the seasonal gifters' December orders are among them)
    n_orders = crm.transactions["order_id"].nunique()
    assert 0.85 * n_orders < len(late) <= n_orders


def test_some_customers_are_chronically_late(crm):
    payments = crm.events[crm.events["kind"] == "payment"]
    mean_late = payments.groupby("customer_id")["value"].mean()
    assert 0.05 < (mean_late > 10).mean() < 0.35
    assert (mean_late == 0).mean() > 0.1


# --- planted signals ----------------------------------------------------------------


def test_spend_is_heavy_tailed(crm):
    net = crm.transactions.groupby("customer_id")["amount"].sum()
    net = net.sort_values(ascending=False).to_numpy()
    top = net[: round(0.2 * len(net))].sum() / net.sum()
    assert top >= 0.6


def test_attributes_predict_later_value_but_not_perfectly(crm):
    mid = START + (END - START) / 2
    customers = crm.customers[crm.customers["signup_ts"] < mid].reset_index(drop=True)
    tx = crm.transactions
    later = tx[tx["ts"] >= mid].groupby("customer_id")["amount"].sum()
    spend = customers["customer_id"].map(later).fillna(0.0).to_numpy()
    top = spend > np.quantile(spend, 0.8)
    features = pd.get_dummies(customers[ATTRIBUTES]).to_numpy(dtype="float64")
    train = np.arange(len(customers)) % 2 == 0
    model = LogisticRegression(max_iter=1000).fit(features[train], top[train])
    auc = roc_auc_score(top[~train], model.predict_proba(features[~train])[:, 1])
    assert 0.65 < auc < 0.97


def test_complaints_come_before_churn(crm):
    # within the personas that are meant to stay (fading one-off buyers churn
    # whatever happens, before they have time to complain)
    staying = crm.personas.loc[
        ~crm.personas["persona"].isin(["fading_one_off", "lead"]), "customer_id"
    ]
    tx = crm.transactions[crm.transactions["customer_id"].isin(staying)]
    span = tx.groupby("customer_id")["ts"].agg(["min", "max"])
    early = span[span["min"] < END - pd.Timedelta(days=365)]
    inactive = early["max"] < END - pd.Timedelta(days=180)
    events = crm.events
    complainers = events.loc[events["kind"] == "complaint", "customer_id"]
    complained = early.index.isin(complainers)
    assert complained.sum() > 100
    assert inactive[complained].mean() > inactive[~complained].mean() + 0.05


def test_orders_peak_in_q4(crm):
    # customers buying all through 2023 (so arrivals and churn do not matter):
    # their orders in Q4 against Q2 of that year
    orders = crm.transactions[crm.transactions["amount"] > 0]
    orders = orders.drop_duplicates("order_id")
    span = orders.groupby("customer_id")["ts"].agg(["min", "max"])
    stayed = span.index[(span["min"] < "2023-04-01") & (span["max"] >= "2024-01-01")]
    ts = orders.loc[orders["customer_id"].isin(stayed), "ts"]
    quarter = ts[ts.dt.year == 2023].dt.quarter.value_counts()
    assert quarter[4] > 1.25 * quarter[2]


# --- planted personas ---------------------------------------------------------------


def test_personas_are_a_separate_truth_table(crm):
    personas = crm.personas
    assert list(personas.columns) == ["customer_id", "persona"]
    assert personas["customer_id"].tolist() == crm.customers["customer_id"].tolist()
    assert set(personas["persona"]) == set(PERSONA_NAMES)
    assert PERSONA_NAMES[-1] == "lead"
    # the leads are exactly the customers who never buy, and no feature table
    # carries the persona
    lead = (personas["persona"] == "lead").to_numpy()
    np.testing.assert_array_equal(lead, ~_buyers(crm).to_numpy())
    for frame in (crm.customers, crm.transactions, crm.events):
        assert "persona" not in frame.columns


def _per_customer(crm: CRMData) -> pd.DataFrame:
    tx = crm.transactions
    sales = tx[tx["status"] == "completed"]
    orders = sales.drop_duplicates("order_id")
    q4 = orders["ts"].dt.month.isin([11, 12])
    per = pd.DataFrame(
        {
            "orders": orders.groupby("customer_id").size(),
            "q4_share": q4.groupby(orders["customer_id"]).mean(),
            "discounted": (sales["discount"] > 0).groupby(sales["customer_id"]).mean(),
            "basket": sales.groupby("customer_id")["amount"].sum()
            / orders.groupby("customer_id").size(),
        }
    )
    return per.join(crm.personas.set_index("customer_id"))


def test_personas_behave_as_documented(crm):
    per = _per_customer(crm)
    med = per.groupby("persona").median()
    discounted = per.groupby("persona")["discounted"].mean()
    assert med.loc["seasonal_gifter", "q4_share"] > 0.8
    # (newcomers all arrive in the second half of the last year)
    others = med.drop(["seasonal_gifter", "fast_growing_newcomer"])
    assert others["q4_share"].max() < 0.4
    assert discounted["bargain_hunter"] > 0.9
    assert discounted.drop("bargain_hunter").max() < 0.6
    assert med.loc["fading_one_off", "orders"] <= 2
    assert med["basket"].idxmax() == "loyal_big_spender"
    assert med["basket"].idxmin() == "bargain_hunter"
    assert med.loc["loyal_big_spender", "orders"] > med.loc["steady_regular", "orders"]
    # newcomers are the buyers who signed up in the last 15 % of the period
    signup = crm.customers.set_index("customer_id")["signup_ts"]
    persona = crm.personas.set_index("customer_id")["persona"]
    cut = START + 0.85 * (END - START)
    late = signup >= cut + pd.Timedelta(days=1)
    early = signup < cut - pd.Timedelta(days=1)
    assert (persona[late & (persona != "lead")] == "fast_growing_newcomer").all()
    assert not (persona[early] == "fast_growing_newcomer").any()


def test_newcomers_grow():
    # orders of newcomers in their 3rd-4th month against their 1st-2nd (the
    # first order, which follows the sign-up, left out)
    crm = make_crm(4000, seed=1)
    persona = crm.personas.set_index("customer_id")["persona"]
    signup = crm.customers.set_index("customer_id")["signup_ts"]
    orders = crm.transactions.drop_duplicates("order_id")
    orders = orders[orders["customer_id"].map(persona) == "fast_growing_newcomer"]
    orders = orders[orders["customer_id"].duplicated()]
    age = (orders["ts"] - orders["customer_id"].map(signup)).dt.days
    new = orders["customer_id"].map(signup) < pd.Timestamp("2024-09-01")
    assert new.sum() > 100
    first, second = (age[new] < 61).sum(), age[new].between(61, 121).sum()
    assert second > 1.5 * first
