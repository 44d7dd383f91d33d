"""Routing decisions keep their facts and outcome in a shared, de-duplicated RoutingRuling; the
indexes a re-route writes for every claim it moves are trimmed to those that queries use, and
claim rows leave room on their page for updates in place."""

import hashlib
import json
import uuid

import django.db.models.deletion
from django.db import migrations, models


def _key(facts_text: str, outcome_text: str) -> uuid.UUID:
    # As claims.routing_services.ruling_key: the same content gets the same key.
    digest = hashlib.blake2b(digest_size=16)
    digest.update(facts_text.encode())
    digest.update(b"\n")
    digest.update(outcome_text.encode())
    return uuid.UUID(bytes=digest.digest())


def _text(value) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def rulings_from_decisions(apps, schema_editor):
    RoutingDecision = apps.get_model("claims", "RoutingDecision")
    RoutingRuling = apps.get_model("claims", "RoutingRuling")
    decisions = RoutingDecision.objects.order_by("pk").only("pk", "facts", "outcome")
    batch = []
    for decision in decisions.iterator(chunk_size=2000):
        decision.ruling_id = _key(_text(decision.facts), _text(decision.outcome))
        batch.append(decision)
        if len(batch) == 2000:
            _store(RoutingRuling, RoutingDecision, batch)
            batch = []
    _store(RoutingRuling, RoutingDecision, batch)


def _store(RoutingRuling, RoutingDecision, decisions):
    rulings = {
        d.ruling_id: RoutingRuling(key=d.ruling_id, facts=d.facts, outcome=d.outcome)
        for d in decisions
    }
    RoutingRuling.objects.bulk_create(rulings.values(), ignore_conflicts=True)
    RoutingDecision.objects.bulk_update(decisions, ["ruling"])


def decisions_from_rulings(apps, schema_editor):
    RoutingDecision = apps.get_model("claims", "RoutingDecision")
    batch = []
    for decision in RoutingDecision.objects.select_related("ruling").iterator(chunk_size=2000):
        decision.facts, decision.outcome = decision.ruling.facts, decision.ruling.outcome
        batch.append(decision)
        if len(batch) == 2000:
            RoutingDecision.objects.bulk_update(batch, ["facts", "outcome"])
            batch = []
    RoutingDecision.objects.bulk_update(batch, ["facts", "outcome"])


def claims_leave_room(apps, schema_editor):
    # A re-route that changes no indexed column of a claim (schemes, handlers, flags, version:
    # an agreement applied to claims whose lead handler stays) is written in place, without an
    # entry in each of the table's twenty indexes, when the claim's page has room for the new
    # row version (a "HOT" update). 70%: room for about a third of a page's claims to move at
    # once. Rows written from now on follow it; VACUUM FULL repacks older ones.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE claims_claim SET (fillfactor = 70)")


def claims_pack_full(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE claims_claim RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0007_workbench_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoutingRuling",
            fields=[
                (
                    "key",
                    models.UUIDField(
                        editable=False,
                        help_text="A hash of the facts and the outcome.",
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("facts", models.JSONField()),
                ("outcome", models.JSONField()),
            ],
        ),
        migrations.AddField(
            model_name="routingdecision",
            name="ruling",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="decisions",
                to="claims.routingruling",
            ),
        ),
        # Nullable for the moment, so that going back can re-add them before refilling them.
        migrations.AlterField(
            model_name="routingdecision",
            name="facts",
            field=models.JSONField(null=True),
        ),
        migrations.AlterField(
            model_name="routingdecision",
            name="outcome",
            field=models.JSONField(null=True),
        ),
        migrations.RunPython(rulings_from_decisions, decisions_from_rulings),
        migrations.AlterField(
            model_name="routingdecision",
            name="ruling",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="decisions",
                to="claims.routingruling",
            ),
        ),
        migrations.RemoveField(
            model_name="routingdecision",
            name="facts",
        ),
        migrations.RemoveField(
            model_name="routingdecision",
            name="outcome",
        ),
        migrations.AlterField(
            model_name="claim",
            name="lead_handler",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name="claim",
            name="schemes",
            field=models.CharField(
                blank=True, help_text="Sorted scheme codes, comma-joined.", max_length=100
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["lead_handler"], name="claim_lead_handler"),
        ),
        migrations.AlterField(
            model_name="claimhandling",
            name="claim",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="handlings",
                to="claims.claim",
            ),
        ),
        migrations.AlterField(
            model_name="claimsegment",
            name="claim",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="segments",
                to="claims.claim",
            ),
        ),
        migrations.AlterField(
            model_name="routingdecision",
            name="claim",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="routing_decisions",
                to="claims.claim",
            ),
        ),
        migrations.RunPython(claims_leave_room, claims_pack_full),
    ]
