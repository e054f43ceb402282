from __future__ import annotations

import csv
import io
from decimal import Decimal

import pandas as pd
import pytest

from costing.billing import BillError, BillReader
from tests.costing.billing.conftest import DATA

ZH_UTF8 = DATA / "cbc_zh_utf8_bom.csv"
ZH_GBK = DATA / "cbc_zh_gbk.csv"
EN = DATA / "cbc_en.csv"


def _read(path, **options):
    reader = BillReader(path, "cbc", **options)
    return reader, pd.concat(list(reader), ignore_index=True)


def _independent_total(path, encoding, column) -> tuple[int, Decimal]:
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    return len(rows), sum((Decimal(row[column]) for row in rows), Decimal(0))


@pytest.mark.parametrize(
    ("path", "encoding", "amount_column"),
    [(ZH_UTF8, "utf-8-sig", "应付金额(¥)"), (ZH_GBK, "gbk", "应付金额(￥)"), (EN, "utf-8", "Amount Due ($)")],
)
def test_each_cbc_variant_imports_with_its_exact_total(path, encoding, amount_column):
    rows, total = _independent_total(path, encoding, amount_column)
    reader, lines = _read(path)
    assert reader.rows == len(lines) == rows
    assert reader.effective_total == reader.billed_total == total
    assert all(isinstance(v, Decimal) for v in lines["effective_cost"])


def test_chinese_bill_in_utf8_with_bom_and_in_gbk_read_the_same():
    utf8_reader, utf8 = _read(ZH_UTF8)
    gbk_reader, gbk = _read(ZH_GBK)
    assert (utf8_reader.encoding, gbk_reader.encoding) == ("utf-8", "gb18030")
    pd.testing.assert_frame_equal(utf8, gbk)
    assert utf8_reader.effective_total == Decimal("249.6523")  # 1 + 2 + 0.72 + 255 + 0.099 - 12.5 + 3.3333
    assert utf8_reader.currency == "CNY"


def test_chinese_bill_values():
    reader, lines = _read(ZH_UTF8)
    first = lines.iloc[0]
    # 2026-10-01 08:00 Beijing time is 00:00 UTC.
    assert first["charge_period_start"] == pd.Timestamp("2026-10-01 00:00", tz="UTC")
    assert first["charge_period_end"] == pd.Timestamp("2026-10-01 01:00", tz="UTC")
    assert first["billing_period_start"] == pd.Timestamp("2026-09-30 16:00", tz="UTC")
    assert first["billing_period_end"] == pd.Timestamp("2026-10-31 16:00", tz="UTC")
    assert first["tags"] == {"CCE-Cluster-ID": "c0ffee01", "env": "prod"}
    assert first["resource_id"] == "0b3d6a52-7a5e-4c39-9e55-2d7a1b3c4f01"
    assert first["provider"] == "Huawei Cloud"
    assert first["list_cost"] == Decimal("1.2000")
    assert first["source_row"] == 2
    categories = ["Usage", "Usage", "Usage", "Purchase", "Usage", "Credit", "Usage"]
    assert list(lines["charge_category"]) == categories
    assert lines["tags"].iat[4] == {}  # written "--"
    assert lines["tags"].iat[5] == {"CCE-Cluster-ID": "c0ffee01", "owner": "网络组"}
    assert lines["resource_name"].iat[5] == "eip,prod"
    # a fee without usage times is spread over its billing cycle
    assert lines["charge_period_start"].iat[6] == first["billing_period_start"]
    assert lines["charge_period_end"].iat[6] == first["billing_period_end"]
    october = (pd.Timestamp("2026-09-30 16:00", tz="UTC"), pd.Timestamp("2026-10-31 16:00", tz="UTC"))
    assert reader.billing_periods == {("acct-cn-001", *october)}


def test_english_bill_values():
    reader, lines = _read(EN)
    assert reader.currency == "USD"
    assert lines["charge_period_start"].iat[0] == pd.Timestamp("2026-10-01 00:30", tz="UTC")  # GMT+08:00 said
    assert lines["tags"].iat[0] == {"kubernetes.io/cluster/sg-prod": "owned"}
    assert reader.effective_total == Decimal("10.840")
    assert reader.billing_account_ids == {"intl-0042"}


def test_the_account_may_be_a_parameter(tmp_path):
    text = ZH_UTF8.read_text(encoding="utf-8-sig").replace("账号ID,", "").replace("acct-cn-001,", "")
    path = tmp_path / "no_account.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BillError) as caught:
        _read(path)
    assert caught.value.line == 1 and "账号ID" in caught.value.reason
    reader, lines = _read(path, account_id="acct-given")
    assert set(lines["billing_account_id"]) == {"acct-given"}
    assert reader.effective_total == Decimal("249.6523")


def test_a_cbc_file_in_yuan_is_refused_for_a_dollar_organisation():
    with pytest.raises(BillError) as caught:
        _read(ZH_GBK, expected_currency="USD")
    assert caught.value.line == 2 and caught.value.column == "应付金额(￥)"
    assert "'CNY'" in caught.value.reason


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "words"),
    [
        ("08:00:00,2026-10-01 10:00:00", "08:00:00,2026-10-01 07:00:00", 3, "使用结束时间", "before"),
        (",0.7200,0,0.7200", ",0.7200,0,七毛二", 4, "应付金额(¥)", "not a number"),
        ("2026-10-03 00:00:00", "2026-10-32 00:00:00", 6, "使用开始时间", "not a timestamp"),
    ],
)
def test_a_bad_cbc_line_is_refused(tmp_path, old, new, line, column, words):
    text = ZH_UTF8.read_text(encoding="utf-8-sig")
    assert old in text
    path = tmp_path / "bad.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(BillError) as caught:
        _read(path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert words in caught.value.reason


def test_a_file_neither_utf8_nor_gbk_is_refused(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes(ZH_UTF8.read_text(encoding="utf-8-sig").encode("utf-16"))
    with pytest.raises(BillError, match="wrong encoding"):
        _read(path)
    path = tmp_path / "broken.csv"
    path.write_bytes(ZH_GBK.read_bytes().replace(b"2026-10,acct", b"\x80\xff-10,acct", 1))
    with pytest.raises(BillError, match="wrong encoding") as caught:
        _read(path)
    assert caught.value.line == 2
