"""`make cost STACK=<name>`: what the stack costs a month, per component and resource.

Prices the rendered inventory (build/<stack>/resources.json, from `make synth`) with the price
file of the stack's region (cost/prices/<region>.json) at three points: every HPA at its
minimum, sized for the capacity target, every limit reached. Traffic-driven parts follow named
usage assumptions (cost/usage.py), printed with the table. Writes build/<stack>/cost.json (as
`make synth` does, with these assumptions and prices).
Exits 1 if any resource type is unpriced or a price is missing, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capacity.assumptions import Assumptions
from cost import prices
from cost.estimate import Estimate, estimate
from cost.load import Load, load
from cost.report import figures, render
from cost.usage import Usage
from stacks.loader import ConfigError
from stacks.stack_file import load_stack

if TYPE_CHECKING:
    pass

ROOT = Path(__file__).resolve().parent.parent


def parse_assumptions(items: list[str]) -> dict[str, float]:
    """NAME=VALUE pairs; one error line per malformed pair."""
    values, problems = {}, []
    for item in items:
        name, _, value = item.partition("=")
        try:
            values[name] = float(value)
        except ValueError:
            problems.append(f"--assume {item!r}: expected NAME=NUMBER")
    if problems:
        raise ValueError("\n".join(problems))
    return values


@dataclass(frozen=True)
class StackEstimate:
    result: Estimate
    points: Load
    usage: Usage
    book: prices.PriceBook
    #: The stack's cost.monthlyCeilingUsd.
    ceiling_usd: float

    def figures(self) -> dict:
        """What the cost-ceiling policy checks."""
        return figures(self.result, self.ceiling_usd, self.book)


def stack_estimate(
    stack: str,
    resources: list[dict],
    price_path: Path | None = None,
    assume: Sequence[str] = (),
    a: Assumptions | None = None,
) -> StackEstimate:
    """The stack's estimate; ConfigError, PriceFileError or ValueError on bad input."""
    config, _ = load_stack(stack)
    usage = Usage().with_overrides(parse_assumptions(list(assume)))
    book = prices.load(price_path or prices.price_file(config.region), config.region)
    points = load(config, usage, a)
    return StackEstimate(estimate(resources, book, points, usage), points, usage, book, config.cost.monthly_ceiling_usd)


def cost_figures(stack: str, resources: list[dict]) -> dict:
    """What the cost-ceiling policy checks, for the stack's inventory `resources`."""
    return stack_estimate(stack, resources).figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name; reads Pulumi.<stack>.yaml and build/<stack>/resources.json")
    parser.add_argument("--prices", type=Path, help="price file (default cost/prices/<region>.json)")
    parser.add_argument(
        "--assume", action="append", default=[], metavar="NAME=VALUE", help="override a usage assumption"
    )
    parser.add_argument("--resources", action="store_true", help="list every priced resource under its component")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="build directory")
    args = parser.parse_args(argv)
    inventory = args.out / args.stack / "resources.json"
    try:
        resources = json.loads(inventory.read_text())
        found = stack_estimate(args.stack, resources, args.prices, args.assume)
        result, points, usage, book = found.result, found.points, found.usage, found.book
    except FileNotFoundError:
        print(f"error: {inventory}: not found; run `make synth STACK={args.stack}` first", file=sys.stderr)
        return 2
    except (ConfigError, ValueError) as exc:  # PriceFileError is a ValueError
        for line in str(exc).splitlines():
            print(f"error: stack {args.stack!r}: {line}", file=sys.stderr)
        return 2
    print(render(result, points, usage, book, resources=args.resources))
    (args.out / args.stack / "cost.json").write_text(json.dumps(result.as_dict(), indent=2, sort_keys=True) + "\n")
    return 0 if result.complete else 1


if __name__ == "__main__":
    sys.exit(main())
