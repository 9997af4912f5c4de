"""The one partitioning of per-document assets: a document id (sha256 prefix) per partition."""

import dagster as dg

documents_partitions = dg.DynamicPartitionsDefinition(name="documents")
