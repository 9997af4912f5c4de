"""Imported once by the warm run launcher's forkserver: every run forks from that process.

Importing this module imports the code location (Dagster, every asset module and library) and
the run worker's entry point, opens the instance once (its storage modules), and runs the whole
domain pipeline on fictional sample text, so the medspaCy pipeline, vocabularies, ICD-10-CM index
and FHIR schema are built before any run starts. Nothing else imports it.
"""

import os

import dagster as dg

import medpipeline.definitions  # noqa: F401  (the code location the runs load)
import medpipeline.run_launcher  # noqa: F401  (the run worker's entry point)
from medpipeline.whole_document import warm_up

if os.environ.get("DAGSTER_HOME"):
    with dg.DagsterInstance.get():
        pass
warm_up()
