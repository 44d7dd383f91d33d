"""Benchmark scenarios. Each returns a dict of figures; the runner adds wall time."""

import time
from collections.abc import Callable

SCENARIOS: dict[str, Callable[[], dict]] = {}


def scenario(name: str):
    def register(run: Callable[[], dict]) -> Callable[[], dict]:
        SCENARIOS[name] = run
        return run

    return register


@scenario("seed_demo_10k_claims")
def seed_demo_10k() -> dict:
    """Foundation target: 10,000 demo claims in well under a minute."""
    from claims.demo_seed import demo_seed

    started = time.perf_counter()
    summary = demo_seed(claims=10_000)
    seconds = time.perf_counter() - started
    return {
        "claims": summary.claims,
        "seconds": round(seconds, 2),
        "claims_per_second": round(summary.claims / seconds),
    }


@scenario("claim_lookup_by_nhs_number")
def claim_lookup_by_nhs_number() -> dict:
    """The indexed search a caseworker runs most: one NHS number among all claims."""
    from django.db import connection, reset_queries

    from claims.models import Claim

    numbers = list(Claim.objects.values_list("claimant_nhs_number", flat=True)[:200])
    started = time.perf_counter()
    for number in numbers:
        list(Claim.objects.filter(claimant_nhs_number=number).values_list("reference"))
    seconds = time.perf_counter() - started
    reset_queries()
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM claims_claim WHERE claimant_nhs_number = %s", [numbers[0]]
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    return {
        "lookups": len(numbers),
        "ms_per_lookup": round(seconds * 1000 / len(numbers), 3),
        "uses_index": "claim_nhs_number" in plan,
    }
