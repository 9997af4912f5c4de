"""When the unpartitioned assets (warehouse tables, patient records) rebuild themselves."""

import dagster as dg

# After any document partition upstream updated. Missing upstream partitions (a quarantined
# document never gets extractions or a bundle) must not block the rebuild forever.
EAGER_ALLOW_MISSING = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager_allow_missing")
)
