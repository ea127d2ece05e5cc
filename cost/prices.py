"""The price file: on-demand list prices of one region, as data with its source and date.

`cost/prices/<region>.json` holds `{"version", "region", "currency", "retrieved", "source",
"prices": {key: {"usd": float, "unit": str, "source"?: str}}}`. Keys name what is priced
("rds/instance/db.r7g.4xlarge", "vpc/nat-gateway-hour"); units are what AWS bills by.
`tools/price_refresh.py` rebuilds the file from the AWS Price List API.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent / "prices"
REQUIRED = ("version", "region", "currency", "retrieved", "source", "prices")


class PriceFileError(ValueError):
    """A price file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class PriceBook:
    version: str
    region: str
    currency: str
    retrieved: str
    source: str
    prices: dict[str, float]
    units: dict[str, str]

    def has(self, key: str) -> bool:
        return key in self.prices

    def usd(self, key: str) -> float:
        return self.prices[key]


def price_file(region: str) -> Path:
    return DIRECTORY / f"{region}.json"


def load(path: Path, region: str) -> PriceBook:
    """The price file at `path`, which must be for `region` (the stack's)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise PriceFileError(f"{path}: no price file for region {region} (tools/price_refresh.py writes one)") from None
    except json.JSONDecodeError as exc:
        raise PriceFileError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise PriceFileError(f"{path}: missing key(s) {', '.join(missing)}")
    if data["region"] != region:
        raise PriceFileError(f"{path}: region: {data['region']!r} is not the stack's region {region!r}")
    if data["currency"] != "USD":
        raise PriceFileError(f"{path}: currency: {data['currency']!r}, only USD is supported")
    prices, units = {}, {}
    for key, entry in data["prices"].items():
        value = entry.get("usd") if isinstance(entry, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise PriceFileError(f"{path}: prices.{key}.usd: {value!r} is not a price (a number >= 0)")
        prices[key], units[key] = float(value), str(entry.get("unit", ""))
    return PriceBook(str(data["version"]), region, "USD", str(data["retrieved"]), str(data["source"]), prices, units)
