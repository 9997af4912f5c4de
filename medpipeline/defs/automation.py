"""When the unpartitioned assets (warehouse tables, patient records) rebuild themselves."""

import dagster as dg

# The per-document assets whose updates the warehouse and the patient records follow.
DOCUMENT_ASSETS = dg.AssetSelection.assets(
    "raw_document", "document_text", "document_chunks", "clinical_extractions", "fhir_bundle"
)
CATCH_UP_CRON = "* * * * *"

# A document that finished in the same evaluation window as a rebuild of the asset counts, for
# `eager()`, as handled by that rebuild (dagster-io/dagster#24650: `since_last_handled` is reset
# by the asset's own update), so the last document of a burst stayed out of the warehouse until
# the next one came. At the next minute's tick the asset is rebuilt if a document asset updated
# after its last request (only then: the check costs no run otherwise); the rebuild's own tables
# updating each other do not count.
MISSED_DOCUMENT_UPDATE = (
    dg.AutomationCondition.cron_tick_passed(CATCH_UP_CRON)
    & dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
    .allow(DOCUMENT_ASSETS)
    .since(dg.AutomationCondition.newly_requested())
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)

# After any document partition upstream updated. Missing upstream partitions (a quarantined
# document never gets extractions or a bundle) must not block the rebuild forever.
EAGER_ALLOW_MISSING = (
    dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
    | MISSED_DOCUMENT_UPDATE
).with_label("eager_allow_missing_with_catch_up")
